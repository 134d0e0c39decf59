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
import io.pivotpool.distributed.GlobalCapacity;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolSettings;
import io.pivotpool.pool.PoolSpec;
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

    /** The cluster-wide cap of the eviction test's pool: below the three instances' max-size together. */
    private static final int CAP = 6;

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

    /**
     * What eviction under a {@code volatile-*} policy does, one key at a time: every key of the
     * namespace (leadership, membership, the pool's grants and ledger, every target and demand
     * report) is deleted while three capped instances run, and the next is deleted once they have
     * settled again. Never two leaders; never more objects allowed in the cluster than the cap;
     * one leader and every grant back within the recovery bound each time.
     */
    @Test
    void evictingAnyOneCoordinationKeyShouldNeverLeaveTwoLeadersNorLetTheCapBeExceeded() throws Exception {
        startCluster("evict");
        List<Pool<Object>> pools = new ArrayList<>();
        for (DistributedPoolManager manager : this.managers) {
            Pool<Object> pool = Pool.create(PoolSpec.of("p", Object::new), PoolSettings.builder().maxSize(4).build());
            this.closeables.add(pool);
            manager.addPool(pool, new GlobalCapacity(CAP, CAP));
            pools.add(pool);
        }
        awaitOneLeader();
        awaitAllGranted(pools);
        List<String> evicted = new ArrayList<>();
        int mostAllowed = 0;
        try (RawRedis raw = new RawRedis(this.server)) {
            // The leader writes the followers' targets at its first rebalance, after its first grants.
            long deadline = System.nanoTime() + RECOVERY.toNanos();
            while (raw.commands().keys("{evict}:kv:pivot.capacity:p:target:*").isEmpty()) {
                assertThat(System.nanoTime()).as("waited for the leader's targets").isLessThan(deadline);
                Thread.sleep(5);
            }
            List<String> keys = new ArrayList<>(raw.commands().keys("{evict}:*"));
            keys.sort(null);
            for (String key : keys) {
                if (raw.commands().del(key) == 0) {
                    continue;
                }
                evicted.add(key);
                long until = System.nanoTime() + SYNC_INTERVAL.multipliedBy(3).toNanos();
                while (System.nanoTime() - until < 0) {
                    mostAllowed = Math.max(mostAllowed, pools.stream().mapToInt(Pool::maxSize).sum());
                    Thread.sleep(5);
                }
                awaitNewTerm(0);
                awaitAllGranted(pools);
                mostAllowed = Math.max(mostAllowed, pools.stream().mapToInt(Pool::maxSize).sum());
            }
        }
        System.out.printf("Eviction of each of %d keys in turn (%s): most leaders at once %d (%d samples), most objects "
                + "allowed in the cluster %d against a cap of %d%n", evicted.size(), String.join(", ", evicted),
                this.sampler.mostLeadersAtOnce(), this.sampler.samples(), mostAllowed, CAP);
        assertThat(evicted).as("keys of every kind were evicted")
            .anyMatch(key -> key.endsWith(":leader")).anyMatch(key -> key.endsWith(":term"))
            .anyMatch(key -> key.contains(":member:")).anyMatch(key -> key.contains(":target:"))
            .anyMatch(key -> key.contains(":demand:")).anyMatch(key -> key.contains("capacity"));
        assertThat(this.sampler.mostLeadersAtOnce()).as("instances leading at the same sample").isEqualTo(1);
        assertThat(mostAllowed).as("objects the instances together allowed").isLessThanOrEqualTo(CAP);
    }

    /** Waits until every pool holds a grant of at least one object again. */
    private static void awaitAllGranted(List<Pool<Object>> pools) throws InterruptedException {
        long deadline = System.nanoTime() + RECOVERY.plusSeconds(2).toNanos();
        while (pools.stream().anyMatch(pool -> pool.maxSize() == 0)) {
            assertThat(System.nanoTime()).as("waited for every pool to be granted again").isLessThan(deadline);
            Thread.sleep(5);
        }
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
            DistributedPoolManager manager = new DistributedPoolManager(coordinator,
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
