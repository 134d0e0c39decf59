package io.pivotpool.benchmarks.redis;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.NoOpCoordinator;
import io.pivotpool.distributed.CoordinationStatus;
import io.pivotpool.distributed.CoordinatorSelection;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.distributed.DistributedSettings;
import io.pivotpool.pool.Lease;
import io.pivotpool.pool.Overflow;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolSettings;
import io.pivotpool.pool.PoolSpec;
import io.pivotpool.redis.RedisCoordinator;
import io.pivotpool.redis.RedisCoordinatorSettings;
import io.pivotpool.redis.RedisServer;
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
 * Borrow and return while this instance coordinates through Redis, next to the same pool on the
 * no-op coordinator, in one run. The pool is registered with a {@link DistributedPoolManager}
 * that heartbeats, renews leadership and lists members every 100 ms (twenty times the default
 * pace) on its background thread against a real {@code redis-server}; the borrowing thread never
 * touches the network, so the target is a ratio of at least 0.98.
 *
 * <p>The trial fails if the Redis manager did not stay connected and leading, so a run in which
 * coordination silently fell back cannot pass for a Redis result.
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

    /** A cheap pooled object, as in the peer benchmarks. */
    static final class Client {

        final int value;

        Client(int value) {
            this.value = value;
        }
    }

    @State(Scope.Benchmark)
    public static class Coordinated {

        @Param({ "noop", "redis" })
        public String coordination;

        RedisServer server;

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
            else {
                this.coordinator = new NoOpCoordinator();
            }
            DistributedSettings settings = DistributedSettings.builder()
                .enabled(true)
                .coordination(this.coordination)
                .syncInterval(Duration.ofMillis(100))
                .leaderTtl(Duration.ofSeconds(1))
                .build();
            this.manager = new DistributedPoolManager(CoordinatorSelection.use(this.coordinator, settings), settings,
                    DistributedPoolManager.localInstance(Map.of("benchmark", "coordinated-borrow")));
            this.pool = Pool.create(PoolSpec.of("coordinated", () -> new Client(42)),
                    PoolSettings.builder().minIdle(10).maxSize(10).overflow(Overflow.WAIT).build());
            this.manager.addPool(this.pool, 100);
            this.manager.start();
        }

        @TearDown(Level.Trial)
        public void stop() {
            CoordinationStatus status = this.manager.status();
            this.pool.close();
            this.manager.close();
            this.coordinator.close();
            if (this.server != null) {
                this.server.close();
            }
            if (!status.connected() || !status.leader() || !status.activeBackend().equals(this.coordination)) {
                throw new IllegalStateException("coordination was not active during the trial: " + status);
            }
        }
    }
}
