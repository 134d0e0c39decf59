package io.pivotpool.redis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.distributed.DistributedSettings;
import io.pivotpool.distributed.internal.CoordinatorSelection;
import io.pivotpool.testsupport.redis.RedisServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Never two leaders, even when Redis loses the lease under a running cluster: three
 * {@link DistributedPoolManager}s on one real redis-server, each on a connection of its own, while
 * a sampler reads every instance's {@code isLeader()} about once a millisecond. The server is
 * restarted without its data, and the leader key is overwritten with junk and with a 4 MiB value;
 * no sample may ever see two leaders, and a leader must be back within leader-ttl plus a few sync
 * intervals. Each test owns its server.
 */
class RedisLeadershipSafetyTests {

    private static final Duration LEADER_TTL = Duration.ofSeconds(1);

    private static final Duration SYNC_INTERVAL = Duration.ofMillis(200);

    private static final Duration TIMEOUT = Duration.ofMillis(500);

    /** Fence (one leader-ttl) + a sync interval to notice + reconnect and scheduling noise. */
    private static final Duration RECOVERY = LEADER_TTL.plus(SYNC_INTERVAL.multipliedBy(3)).plusSeconds(1);

    @RegisterExtension
    final RedisServer server = RedisServer.fixture();

    private final List<AutoCloseable> closeables = new ArrayList<>();

    private final List<DistributedPoolManager> managers = new ArrayList<>();

    private Sampler sampler;

    @AfterEach
    void stopAll() throws Exception {
        if (this.sampler != null) {
            this.sampler.close();
        }
        for (int i = this.closeables.size() - 1; i >= 0; i--) {
            this.closeables.get(i).close();
        }
    }

    @Test
    void coldStartShouldElectOneLeaderOnlyAfterOneLeaderTtl() throws Exception {
        long startedAt = System.nanoTime();
        startCluster("cold");
        assertThat(leaders()).as("leaders right after a cold start").isZero();
        long firstLeaderAt = awaitOneLeader();
        Duration coldStart = Duration.ofNanos(firstLeaderAt - startedAt);
        System.out.printf("Cold start: first leader %d ms after the first manager started (leader-ttl %d ms, "
                + "sync-interval %d ms)%n", coldStart.toMillis(), LEADER_TTL.toMillis(), SYNC_INTERVAL.toMillis());
        assertThat(coldStart).isGreaterThanOrEqualTo(LEADER_TTL).isLessThanOrEqualTo(RECOVERY);
        // The sampler's thread may not have run since the leader appeared (a loaded machine): give
        // it a moment to see the leader, so that "at most one" is backed by a sample of one.
        long seen = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (this.sampler.mostLeadersAtOnce() == 0 && System.nanoTime() - seen < 0) {
            Thread.sleep(5);
        }
        assertThat(this.sampler.mostLeadersAtOnce()).isEqualTo(1);
    }

    @Test
    void restartingRedisWithoutDataShouldNeverLeaveTwoLeaders() throws Exception {
        startCluster("restart");
        awaitOneLeader();
        for (int round = 1; round <= 3; round++) {
            long before = highestToken();
            // Restart at once: the old leader still trusts its term for up to one leader-ttl.
            this.server.restartOnSamePort();
            long restartedAt = System.nanoTime();
            long leaderAt = awaitNewTerm(before);
            System.out.printf("Restart without data, round %d: a new term leads %d ms after the new server "
                    + "answered; most leaders at once so far: %d (%d samples)%n", round,
                    TimeUnit.NANOSECONDS.toMillis(leaderAt - restartedAt), this.sampler.mostLeadersAtOnce(),
                    this.sampler.samples());
        }
        assertThat(this.sampler.mostLeadersAtOnce()).as("instances leading at the same sample").isEqualTo(1);
        assertThat(this.sampler.samples()).as("samples taken").isGreaterThan(1000);
    }

    @Test
    void junkOnTheLeaderKeyShouldNeverLeaveTwoLeaders() throws Exception {
        startCluster("junk");
        awaitOneLeader();
        try (RawRedis raw = new RawRedis(this.server)) {
            long before = highestToken();
            raw.commands().set("{junk}:leader", "junk");
            long plantedAt = System.nanoTime();
            long leaderAt = awaitNewTerm(before);
            System.out.printf("Junk on the leader key: a new term leads %d ms after it was planted%n",
                    TimeUnit.NANOSECONDS.toMillis(leaderAt - plantedAt));

            before = highestToken();
            raw.commands().set("{junk}:leader", "x".repeat(4 * 1024 * 1024));
            plantedAt = System.nanoTime();
            leaderAt = awaitNewTerm(before);
            System.out.printf("4 MiB on the leader key: a new term leads %d ms after it was planted%n",
                    TimeUnit.NANOSECONDS.toMillis(leaderAt - plantedAt));
        }
        assertThat(this.sampler.mostLeadersAtOnce()).as("instances leading at the same sample").isEqualTo(1);
    }

    private void startCluster(String namespace) {
        for (String name : List.of("a", "b", "c")) {
            RedisCoordinator coordinator = RedisCoordinator.create(RedisCoordinatorSettings.builder()
                .host(this.server.host())
                .port(this.server.port())
                .namespace(namespace)
                .timeout(TIMEOUT)
                .build());
            this.closeables.add(coordinator);
            DistributedSettings settings = DistributedSettings.builder()
                .enabled(true)
                .coordination("redis")
                .syncInterval(SYNC_INTERVAL)
                .leaderTtl(LEADER_TTL)
                .build();
            DistributedPoolManager manager = new DistributedPoolManager(CoordinatorSelection.use(coordinator, settings),
                    settings, new InstanceInfo(name, "localhost", System.currentTimeMillis(), Map.of()));
            this.closeables.add(manager);
            this.managers.add(manager);
        }
        this.sampler = new Sampler(this.managers);
        this.managers.forEach(DistributedPoolManager::start);
    }

    private int leaders() {
        return (int) this.managers.stream().filter(DistributedPoolManager::isLeader).count();
    }

    private long highestToken() {
        return this.managers.stream().mapToLong(manager -> manager.status().fencingToken()).max().orElse(0);
    }

    private long awaitOneLeader() throws InterruptedException {
        return awaitNewTerm(0);
    }

    /** Waits until an instance leads in a term newer than {@code token}; returns when. */
    private long awaitNewTerm(long token) throws InterruptedException {
        long deadline = System.nanoTime() + RECOVERY.plusSeconds(1).toNanos();
        while (this.managers.stream().noneMatch(manager -> manager.isLeader() && manager.status().fencingToken() > token)) {
            assertThat(System.nanoTime()).as("waited for a leader in a term after %d", token).isLessThan(deadline);
            Thread.sleep(1);
        }
        return System.nanoTime();
    }

    /** Reads every manager's isLeader() about once a millisecond and keeps the worst it saw. */
    private static final class Sampler implements AutoCloseable {

        private final AtomicBoolean running = new AtomicBoolean(true);

        private final AtomicLong mostLeadersAtOnce = new AtomicLong();

        private final AtomicLong samples = new AtomicLong();

        private final Thread thread;

        Sampler(List<DistributedPoolManager> managers) {
            this.thread = new Thread(() -> {
                while (this.running.get()) {
                    int leaders = 0;
                    for (DistributedPoolManager manager : managers) {
                        if (manager.isLeader()) {
                            leaders++;
                        }
                    }
                    this.samples.incrementAndGet();
                    this.mostLeadersAtOnce.accumulateAndGet(leaders, Math::max);
                    try {
                        Thread.sleep(1);
                    }
                    catch (InterruptedException ex) {
                        return;
                    }
                }
            }, "leader-sampler");
            this.thread.setDaemon(true);
            this.thread.start();
        }

        long mostLeadersAtOnce() {
            return this.mostLeadersAtOnce.get();
        }

        long samples() {
            return this.samples.get();
        }

        @Override
        public void close() {
            this.running.set(false);
            this.thread.interrupt();
        }
    }
}
