package io.pivotpool.benchmarks.redis;

import java.util.concurrent.TimeUnit;

import io.pivotpool.pool.Lease;
import io.pivotpool.pool.Overflow;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolSettings;
import io.pivotpool.pool.PoolSpec;
import io.pivotpool.pool.PoolStats;
import io.pivotpool.testsupport.redis.RedisServer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.redisson.Redisson;
import org.redisson.api.RSemaphore;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

/**
 * The cluster-wide cap as applications enforce it today without us: a Redisson {@link RSemaphore}
 * whose permits are the cap ({@code global-max-size} 100), acquired before and released after
 * every borrow of a plain local pool (max-size 10, as in {@link CoordinatedBorrowBenchmark}), on a
 * real {@code redis-server} on loopback started the same way. Every operation is two round trips
 * (the semaphore's acquire and release scripts); ours touches no network at all. Redisson runs with
 * its default settings (connection pool, codec, Netty threads), as an application would.
 *
 * <p>The trial fails unless all permits are back and the pool lost nothing, so a semaphore that
 * leaked permits cannot pass for a result.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(2)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class RedissonSemaphoreBenchmark {

    @Benchmark
    @Threads(1)
    public int borrowReturn1Thread(Semaphored state) throws InterruptedException {
        return borrowReturn(state);
    }

    @Benchmark
    @Threads(2)
    public int borrowReturn2Threads(Semaphored state) throws InterruptedException {
        return borrowReturn(state);
    }

    private static int borrowReturn(Semaphored state) throws InterruptedException {
        state.semaphore.acquire();
        try (Lease<CoordinatedBorrowBenchmark.Client> lease = state.pool.borrow()) {
            return lease.get().value;
        }
        finally {
            state.semaphore.release();
        }
    }

    @State(Scope.Benchmark)
    public static class Semaphored {

        static final int PERMITS = CoordinatedBorrowBenchmark.Coordinated.GLOBAL_MAX_SIZE;

        static final int LOCAL_MAX_SIZE = CoordinatedBorrowBenchmark.Coordinated.LOCAL_MAX_SIZE;

        RedisServer server;

        RedissonClient redisson;

        RSemaphore semaphore;

        Pool<CoordinatedBorrowBenchmark.Client> pool;

        @Setup(Level.Trial)
        public void start() {
            this.server = RedisServer.start();
            Config config = new Config();
            config.useSingleServer().setAddress("redis://" + this.server.host() + ":" + this.server.port());
            this.redisson = Redisson.create(config);
            this.semaphore = this.redisson.getSemaphore("pivot-bench:cluster-cap");
            if (!this.semaphore.trySetPermits(PERMITS)) {
                throw new IllegalStateException("the semaphore already had permits on a fresh server");
            }
            this.pool = Pool.create(PoolSpec.of("semaphored", () -> new CoordinatedBorrowBenchmark.Client(42)),
                    PoolSettings.builder().minIdle(LOCAL_MAX_SIZE).maxSize(LOCAL_MAX_SIZE).overflow(Overflow.WAIT).build());
        }

        @TearDown(Level.Trial)
        public void stop() {
            int permits = this.semaphore.availablePermits();
            PoolStats stats = this.pool.stats();
            this.pool.close();
            this.redisson.shutdown();
            this.server.close();
            if (permits != PERMITS) {
                throw new IllegalStateException(permits + " of " + PERMITS + " permits were back at the end of the trial");
            }
            if (stats.active() != 0 || stats.size() != LOCAL_MAX_SIZE || stats.created() != LOCAL_MAX_SIZE) {
                throw new IllegalStateException("the local pool lost or recreated objects: " + stats);
            }
        }
    }
}
