package io.pivotpool.benchmarks.redis;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.NoOpCoordinator;
import io.pivotpool.distributed.CoordinationStatus;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.distributed.DistributedSettings;
import io.pivotpool.distributed.GlobalCapacity;
import io.pivotpool.distributed.PoolCapacity;
import io.pivotpool.etcd.EtcdCoordinator;
import io.pivotpool.etcd.EtcdCoordinatorSettings;
import io.pivotpool.pool.Lease;
import io.pivotpool.pool.Overflow;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolSettings;
import io.pivotpool.pool.PoolSpec;
import io.pivotpool.redis.RedisCoordinator;
import io.pivotpool.redis.RedisCoordinatorSettings;
import io.pivotpool.testsupport.etcd.EtcdServer;
import io.pivotpool.testsupport.redis.RedisServer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Borrow and return on a pool under a cluster-wide cap while this instance coordinates through
 * Redis or etcd, next to the same pool on the no-op coordinator, in one run
 * ({@code -p coordination=noop,etcd} for one backend). The pool (local max-size 10)
 * is registered with a {@link DistributedPoolManager} under {@code global-max-size} 100
 * ({@link GlobalCapacity#of}); the manager heartbeats, renews leadership, lists members, rebalances
 * and renews the pool's grant every {@code syncIntervalMs}: 100 ms (twenty times the default pace)
 * or the default 2 s, on its background thread against a real {@code redis-server} or {@code etcd}
 * ({@link EtcdServer}: a 1 s leader-ttl is etcd's shortest lease there); the borrowing threads
 * never touch the network, so the target is a ratio of at least 0.98. On a machine whose cores the
 * borrowing threads fill, the ratio also carries the CPU the coordination takes from them (the
 * manager's and the client's threads, and the server when it runs on the same machine):
 * {@link CoordinationCpuProbe} measures that apart.
 *
 * <p>The trial fails unless the pool held a grant of 10 right after the start and still does at
 * the end, and unless the manager stayed connected and leading on its backend, so a run in which
 * coordination silently fell back, or the cap shrank the pool, cannot pass for a Redis or etcd result.
 * {@link RedissonSemaphoreBenchmark} enforces the same cap the way users do it without us.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(2)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class CoordinatedBorrowBenchmark {

    @Benchmark
    @Threads(1)
    public int borrowReturn1Thread(Coordinated state) {
        try (Lease<Client> lease = state.pool.borrow()) {
            return lease.get().value;
        }
    }

    @Benchmark
    @Threads(2)
    public int borrowReturn2Threads(Coordinated state) {
        try (Lease<Client> lease = state.pool.borrow()) {
            return lease.get().value;
        }
    }

    /** A cheap pooled object, as in the peer benchmarks. */
    static final class Client {

        final int value;

        Client(int value) {
            this.value = value;
        }
    }

    @State(Scope.Benchmark)
    public static class Coordinated {

        /** The cluster-wide cap. */
        static final int GLOBAL_MAX_SIZE = 100;

        /** The pool's own max-size, and so its grant: the cap leaves it all of it. */
        static final int LOCAL_MAX_SIZE = 10;

        @Param({ "noop", "redis", "etcd" })
        public String coordination;

        /**
         * The manager's sync-interval in ms: 100 (twenty times the default pace, leader-ttl 1 s) or
         * 2000 (the default, with the default TTLs). The borrowing threads do the same either way; what
         * changes is how much CPU the coordination around them takes from the same cores.
         */
        @Param({ "100", "2000" })
        public int syncIntervalMs;

        RedisServer server;

        EtcdServer etcd;

        Coordinator coordinator;

        DistributedPoolManager manager;

        Pool<Client> pool;

        @Setup(Level.Trial)
        public void start() {
            if (this.coordination.equals("redis")) {
                this.server = RedisServer.start();
                this.coordinator = RedisCoordinator.create(RedisCoordinatorSettings.builder()
                    .host("127.0.0.1")
                    .port(this.server.port())
                    .namespace("bench")
                    .build());
            }
            else if (this.coordination.equals("etcd")) {
                this.etcd = EtcdServer.start();
                this.coordinator = EtcdCoordinator.create(EtcdCoordinatorSettings.builder()
                    .endpoints(this.etcd.member().clientUrl())
                    .namespace("bench")
                    .build());
            }
            else {
                this.coordinator = new NoOpCoordinator();
            }
            DistributedSettings.Builder builder = DistributedSettings.builder()
                .enabled(true)
                .coordination(this.coordination)
                .syncInterval(Duration.ofMillis(this.syncIntervalMs));
            if (this.syncIntervalMs < 1000) {
                builder.leaderTtl(Duration.ofSeconds(1));
            }
            if (this.coordination.equals("etcd") && this.syncIntervalMs < 1000) {
                // The default, three sync rounds (300 ms), for the others. etcd leases are whole seconds, and
                // with 300 ms a starved sync thread on the shared 2-core machine dropped the etcd case into
                // partition mode (a first run failed its 2-thread trial so): 1 s, etcd's shortest lease here.
                builder.instanceTtl(Duration.ofSeconds(1));
            }
            DistributedSettings settings = builder.build();
            this.manager = new DistributedPoolManager(this.coordinator, settings,
                    DistributedPoolManager.localInstance(Map.of("benchmark", "coordinated-borrow")));
            this.pool = Pool.create(PoolSpec.of("coordinated", () -> new Client(42)),
                    PoolSettings.builder().minIdle(LOCAL_MAX_SIZE).maxSize(LOCAL_MAX_SIZE).overflow(Overflow.WAIT).build());
            this.manager.addPool(this.pool, GlobalCapacity.of(GLOBAL_MAX_SIZE));
            this.manager.start();
            requireFullGrant("after the start", this.manager.status());
            awaitLeadership(settings);
        }

        /**
         * Waits for this instance to lead, so that every round measured is a leader's (renewal, member
         * listing, rebalancing): a brand-new namespace grants its first term only after one leader-ttl
         * (10 s at the default pace), longer than a trial.
         */
        void awaitLeadership(DistributedSettings settings) {
            long deadline = System.nanoTime()
                    + settings.leaderTtl().plus(settings.syncInterval()).multipliedBy(2).toNanos();
            while (!this.manager.isLeader()) {
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException("this instance did not lead within two leader-ttls: "
                            + this.manager.status());
                }
                try {
                    Thread.sleep(20);
                }
                catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(ex);
                }
            }
        }

        /** The pool holds (and may use) all of its local max-size under the cap, trusting its grant. */
        void requireFullGrant(String when, CoordinationStatus status) {
            PoolCapacity capacity = status.pools().get(this.pool.name());
            if (capacity == null || capacity.globalMaxSize() != GLOBAL_MAX_SIZE || capacity.grant() != LOCAL_MAX_SIZE
                    || capacity.limit() != LOCAL_MAX_SIZE || capacity.partitioned()
                    || this.pool.maxSize() != LOCAL_MAX_SIZE) {
                throw new IllegalStateException("the capped pool did not hold a grant of " + LOCAL_MAX_SIZE + " "
                        + when + ": " + capacity + ", pool max-size " + this.pool.maxSize());
            }
        }

        @TearDown(Level.Trial)
        public void stop() {
            CoordinationStatus status = this.manager.status();
            IllegalStateException capFailure = null;
            try {
                requireFullGrant("at the end of the trial", status);
            }
            catch (IllegalStateException ex) {
                capFailure = ex;
            }
            this.pool.close();
            this.manager.close();
            this.coordinator.close();
            if (this.server != null) {
                this.server.close();
            }
            if (this.etcd != null) {
                this.etcd.close();
            }
            if (!status.connected() || !status.isLeader() || !status.activeBackend().equals(this.coordination)) {
                throw new IllegalStateException("coordination was not active during the trial: " + status);
            }
            if (capFailure != null) {
                throw capFailure;
            }
        }
    }
}
