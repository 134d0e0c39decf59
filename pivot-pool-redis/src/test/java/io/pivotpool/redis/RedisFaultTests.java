package io.pivotpool.redis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.distributed.CoordinationStatus;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.distributed.DistributedSettings;
import io.pivotpool.pool.Lease;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolSettings;
import io.pivotpool.pool.PoolSpec;
import io.pivotpool.testsupport.redis.RedisServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

import static io.pivotpool.redis.RedisCoordinatorTests.bytes;
import static io.pivotpool.redis.RedisCoordinatorTests.instance;
import static io.pivotpool.redis.RedisFailoverTests.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * What happens to coordinators and managers when the server hangs (SIGSTOP longer than the
 * leader TTL) or crashes and comes back empty on the same port (kill -9): calls fail within
 * the timeout, nothing is thrown at borrowers, and the same objects work again afterwards.
 * Each test owns its server.
 */
class RedisFaultTests {

    private static final Duration TIMEOUT = Duration.ofMillis(500);

    private static final Duration LEADER_TTL = Duration.ofSeconds(1);

    private static final Duration SYNC_INTERVAL = Duration.ofMillis(200);

    @RegisterExtension
    final RedisServer server = RedisServer.fixture();

    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void stopAll() throws Exception {
        for (int i = this.closeables.size() - 1; i >= 0; i--) {
            this.closeables.get(i).close();
        }
    }

    @Test
    void pausedServerShouldFailCallsWithinTheTimeoutAndTheSameCoordinatorShouldWorkAfterResume() throws Exception {
        RedisCoordinator coordinator = coordinator("paused");
        LeaderLease before = coordinator.tryAcquireLeadership("a", LEADER_TTL).orElseThrow();
        this.server.pause();
        try {
            long start = System.nanoTime();
            assertThatExceptionOfType(CoordinatorException.class).isThrownBy(() -> coordinator.get("k"))
                .withMessageContaining("Redis coordinator (127.0.0.1:" + this.server.port())
                .withMessageContaining("could not get 'k'");
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertThat(took).as("a call to a hung server").isBetween(TIMEOUT.minusMillis(50), TIMEOUT.plusMillis(400));
            assertThat(coordinator.isConnected()).isFalse();
            assertThatExceptionOfType(CoordinatorException.class)
                .isThrownBy(() -> coordinator.pop("q", Duration.ofMillis(200)));
            Thread.sleep(LEADER_TTL.toMillis());
        }
        finally {
            this.server.resume();
        }
        long resumedAt = System.nanoTime();
        await(() -> succeeds(() -> coordinator.set("k", bytes("v"), null)), Duration.ofSeconds(3));
        System.out.printf("Pause: calls succeed again %d ms after SIGCONT%n",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - resumedAt));
        assertThat(coordinator.isConnected()).isTrue();
        // The server's clock ran on while it was stopped, so the lease is over.
        assertThat(coordinator.currentLeader()).isEmpty();
        LeaderLease after = coordinator.tryAcquireLeadership("b", LEADER_TTL).orElseThrow();
        assertThat(after.fencingToken()).isGreaterThan(before.fencingToken());
        coordinator.push("q", bytes("m"));
        assertThat(coordinator.pop("q", Duration.ofSeconds(1))).isPresent();
    }

    @Test
    void killedServerRestartedOnTheSamePortShouldServeTheSameCoordinatorAgain() throws Exception {
        RedisCoordinator coordinator = coordinator("killed");
        coordinator.register(instance("a"), Duration.ofSeconds(10));
        LeaderLease before = coordinator.tryAcquireLeadership("a", LEADER_TTL).orElseThrow();
        // A blocking pop opens its own connection, which must come back too.
        assertThat(coordinator.pop("q", Duration.ofMillis(50))).isEmpty();
        this.server.kill9();
        long start = System.nanoTime();
        assertThatExceptionOfType(CoordinatorException.class).isThrownBy(coordinator::liveInstances);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThanOrEqualTo(TIMEOUT.plusMillis(400));
        assertThat(coordinator.isConnected()).isFalse();

        this.server.restartOnSamePort();
        long restartedAt = System.nanoTime();
        await(() -> succeeds(coordinator::liveInstances), Duration.ofSeconds(3));
        System.out.printf("Restart: calls succeed again %d ms after the new server answered PING%n",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restartedAt));
        assertThat(coordinator.isConnected()).isTrue();
        // The new server is empty: the scripts are loaded again, the instance re-registers.
        assertThat(coordinator.liveInstances()).isEmpty();
        coordinator.heartbeat(instance("a"), Duration.ofSeconds(10));
        assertThat(coordinator.liveInstances()).containsExactly(instance("a"));
        // The server lost the term: nobody may lead until any earlier leader has stopped trusting its term.
        assertThat(coordinator.tryAcquireLeadership("a", LEADER_TTL)).isEmpty();
        await(() -> coordinator.tryAcquireLeadership("a", LEADER_TTL).isPresent(), LEADER_TTL.plusSeconds(1));
        LeaderLease after = coordinator.currentLeader().orElseThrow();
        assertThat(after.fencingToken()).as("a term after the server lost every key").isGreaterThan(before.fencingToken());
        coordinator.push("q", bytes("m"));
        assertThat(coordinator.pop("q")).isPresent();
        new Thread(() -> {
            RedisCoordinatorTests.sleep(200);
            coordinator.push("q", bytes("late"));
        }).start();
        assertThat(coordinator.pop("q", Duration.ofSeconds(2))).isPresent();
    }

    @Test
    void managersShouldRideOutAPauseLongerThanTheLeaderTtlAndRejoin() throws Exception {
        DistributedPoolManager first = manager(coordinator("managers-pause"), "a");
        DistributedPoolManager second = manager(coordinator("managers-pause"), "b");
        Pool<Object> pool = pool(first);
        first.start();
        second.start();
        await(() -> first.isLeader() && second.status().memberCount() == 2, Duration.ofSeconds(3));
        long term = first.status().fencingToken();

        this.server.pause();
        long pausedAt = System.nanoTime();
        try {
            long steppedDownAt = 0;
            while (System.nanoTime() - pausedAt < LEADER_TTL.plusMillis(500).toNanos()) {
                borrowAndReturn(pool);
                if (steppedDownAt == 0 && !first.isLeader()) {
                    steppedDownAt = System.nanoTime();
                }
                Thread.sleep(5);
            }
            assertThat(steppedDownAt).as("the leader stepped down during the pause").isPositive();
            assertThat(steppedDownAt - pausedAt).as("stepped down before its lease could end")
                .isLessThan(LEADER_TTL.toNanos());
            CoordinationStatus status = first.status();
            assertThat(status.connected()).isFalse();
            assertThat(status.lastError()).contains("Redis coordinator");
            assertThat(second.isLeader()).isFalse();
        }
        finally {
            this.server.resume();
        }
        await(() -> first.status().connected() && second.status().connected()
                && (first.isLeader() ^ second.isLeader()) && first.status().memberCount() == 2,
                Duration.ofSeconds(3));
        assertThat(first.status().lastError()).isNull();
        assertThat(Math.max(first.status().fencingToken(), second.status().fencingToken())).isGreaterThan(term);
        borrowAndReturn(pool);
    }

    @Test
    void managersShouldRejoinANewServerOnTheSamePortWithoutARestart() throws Exception {
        DistributedPoolManager first = manager(coordinator("managers-kill"), "a");
        DistributedPoolManager second = manager(coordinator("managers-kill"), "b");
        Pool<Object> pool = pool(first);
        first.start();
        second.start();
        await(() -> first.isLeader() && second.status().memberCount() == 2, Duration.ofSeconds(3));
        long term = first.status().fencingToken();

        this.server.kill9();
        long killedAt = System.nanoTime();
        while (System.nanoTime() - killedAt < LEADER_TTL.toNanos()) {
            borrowAndReturn(pool);
            Thread.sleep(5);
        }
        assertThat(first.isLeader()).isFalse();
        assertThat(first.status().connected()).isFalse();
        assertThat(first.status().lastError()).contains("Redis coordinator");

        this.server.restartOnSamePort();
        long restartedAt = System.nanoTime();
        // The term is read from status(), the last completed round, while isLeader() turns true during one.
        await(() -> first.status().connected() && second.status().connected()
                && (first.isLeader() ^ second.isLeader()) && first.status().memberCount() == 2
                && second.status().memberCount() == 2
                && Math.max(first.status().fencingToken(), second.status().fencingToken()) != 0,
                Duration.ofSeconds(3));
        System.out.printf("Restart: both managers registered again and one leads %d ms after the new server "
                + "answered PING%n", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restartedAt));
        assertThat(Math.max(first.status().fencingToken(), second.status().fencingToken())).isGreaterThan(term);
        borrowAndReturn(pool);
    }

    @Test
    void aServerDownAtStartUpShouldBeTriedEveryRoundAndTheInstanceShouldJoinOnceItIsBack() throws Exception {
        RawRedis.establish(this.server, "late");
        this.server.kill9();
        RedisCoordinator coordinator = RedisCoordinator.create(RedisCoordinatorSettings.builder()
            .host(this.server.host())
            .port(this.server.port())
            .namespace("late")
            .timeout(TIMEOUT)
            .build());
        this.closeables.add(coordinator);
        DistributedPoolManager manager = manager(coordinator, "a");
        Pool<Object> pool = pool(manager);
        manager.start();
        CoordinationStatus down = manager.status();
        assertThat(down.activeBackend()).as("kept, not replaced by the no-op coordinator").isEqualTo("redis");
        assertThat(down.fallbackReason()).isNull();
        assertThat(down.connected()).isFalse();
        assertThat(pool.maxSize()).as("a capped pool with no grant to keep holds nothing").isZero();
        Thread.sleep(SYNC_INTERVAL.toMillis() * 3);
        this.server.restartOnSamePort();
        await(() -> manager.status().connected() && manager.isLeader() && pool.maxSize() == 2, Duration.ofSeconds(5));
        borrowAndReturn(pool);
    }

    @Test
    void shutdownOnASharedFactoryWithLettucesDefaultTimeoutShouldWaitOnlyTheCoordinatorsOwnTimeout() throws Exception {
        LettuceConnectionFactory applicationFactory = new LettuceConnectionFactory(
                new RedisStandaloneConfiguration(this.server.host(), this.server.port()));
        applicationFactory.afterPropertiesSet();
        this.closeables.add(applicationFactory::destroy);
        assertThat(applicationFactory.getTimeout()).as("Lettuce's default command timeout, ms").isEqualTo(60_000);
        RawRedis.establish(this.server, "shutdown");
        RedisCoordinator coordinator = RedisCoordinator.create(applicationFactory, "shutdown", TIMEOUT);
        this.closeables.add(coordinator);
        RedisCoordinator byDefault = RedisCoordinator.create(applicationFactory, "shutdown");
        this.closeables.add(byDefault);
        assertThat(byDefault.timeout()).isEqualTo(RedisCoordinatorSettings.DEFAULT_TIMEOUT);
        DistributedPoolManager manager = manager(coordinator, "a");
        manager.start();
        assertThat(manager.isLeader()).isTrue();
        this.server.pause();
        try {
            long start = System.nanoTime();
            manager.close();
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            start = System.nanoTime();
            assertThatExceptionOfType(CoordinatorException.class).isThrownBy(() -> byDefault.unregister("a"));
            Duration tookByDefault = Duration.ofNanos(System.nanoTime() - start);
            System.out.printf("Shutdown against a hung server on a factory with a 60 s command timeout: manager close "
                    + "(release + unregister) took %d ms with a %d ms coordinator timeout; one call with the default "
                    + "coordinator timeout took %d ms%n", took.toMillis(), TIMEOUT.toMillis(), tookByDefault.toMillis());
            // A sync in flight (interrupted after one sync interval), then release and unregister, each bounded.
            assertThat(took).isLessThan(SYNC_INTERVAL.plus(TIMEOUT.multipliedBy(2)).plusMillis(800));
            assertThat(tookByDefault).isLessThan(RedisCoordinatorSettings.DEFAULT_TIMEOUT.plusMillis(500));
        }
        finally {
            this.server.resume();
        }
    }

    private RedisCoordinator coordinator(String namespace) {
        RawRedis.establish(this.server, namespace);
        RedisCoordinator coordinator = RedisCoordinator.create(RedisCoordinatorSettings.builder()
            .host(this.server.host())
            .port(this.server.port())
            .namespace(namespace)
            .timeout(TIMEOUT)
            .build());
        this.closeables.add(coordinator);
        coordinator.connect();
        return coordinator;
    }

    private DistributedPoolManager manager(RedisCoordinator coordinator, String name) {
        DistributedSettings settings = DistributedSettings.builder()
            .enabled(true)
            .coordination("redis")
            .syncInterval(SYNC_INTERVAL)
            .leaderTtl(LEADER_TTL)
            .build();
        DistributedPoolManager manager = new DistributedPoolManager(coordinator,
                settings, new InstanceInfo(name, "localhost", System.currentTimeMillis(), Map.of()));
        this.closeables.add(manager);
        return manager;
    }

    private Pool<Object> pool(DistributedPoolManager manager) {
        Pool<Object> pool = Pool.create(PoolSpec.of("objects", Object::new), PoolSettings.builder().maxSize(2).build());
        this.closeables.add(pool);
        manager.addPool(pool, 4);
        return pool;
    }

    private static void borrowAndReturn(Pool<Object> pool) {
        try (Lease<Object> lease = pool.borrow()) {
            assertThat(lease.get()).isNotNull();
        }
    }

    private static boolean succeeds(Runnable call) {
        try {
            call.run();
            return true;
        }
        catch (CoordinatorException ex) {
            return false;
        }
    }
}
