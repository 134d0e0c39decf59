package io.pivotpool.benchmarks;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.pivotpool.pool.Lease;
import io.pivotpool.pool.Overflow;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolSettings;
import io.pivotpool.pool.PoolSpec;
import io.pivotpool.pool.PoolStats;
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

/**
 * Our pool, as an application uses it: {@code try (Lease<T> lease = pool.borrow())}, default
 * settings apart from the size, statistics on (they cannot be switched off).
 *
 * <p>The three cases are the same in every peer's class:
 * <ul>
 * <li>{@code borrowReturn1Thread}, {@code borrowReturn2Threads}: borrow, read the object, return,
 * from 1 or 2 threads, on a full pool of {@value Cases#POOL_SIZE} objects;
 * <li>{@code handOff2Threads}: the same cycle from 2 threads on a pool of one object, so that the
 * threads keep waiting for each other and each return hands the object to a waiting borrower.
 * </ul>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(Cases.FORKS)
@Warmup(iterations = Cases.WARMUP_ITERATIONS, time = 1)
@Measurement(iterations = Cases.MEASUREMENT_ITERATIONS, time = 1)
public class PivotPoolBenchmark {

    @Benchmark
    @Threads(1)
    public int borrowReturn1Thread(FullPool state) {
        return cycle(state.pool);
    }

    @Benchmark
    @Threads(2)
    public int borrowReturn2Threads(FullPool state) {
        return cycle(state.pool);
    }

    @Benchmark
    @Threads(2)
    public int handOff2Threads(PoolOfOne state, HandOffCounter counter) {
        try (Lease<Payload> lease = state.pool.borrow()) {
            return counter.borrowed(lease.get());
        }
    }

    private static int cycle(Pool<Payload> pool) {
        try (Lease<Payload> lease = pool.borrow()) {
            return lease.get().value;
        }
    }

    @State(Scope.Benchmark)
    public static class FullPool {

        Pool<Payload> pool;

        @Setup(Level.Trial)
        public void start() {
            this.pool = newPool(Cases.POOL_SIZE);
        }

        @TearDown(Level.Trial)
        public void stop() {
            stopAndCheck(this.pool);
        }
    }

    @State(Scope.Benchmark)
    public static class PoolOfOne {

        Pool<Payload> pool;

        @Setup(Level.Trial)
        public void start() {
            this.pool = newPool(1);
        }

        @TearDown(Level.Trial)
        public void stop() {
            stopAndCheck(this.pool);
        }
    }

    static Pool<Payload> newPool(int size) {
        PoolSettings settings = PoolSettings.builder()
            .minIdle(size)
            .maxSize(size)
            .overflow(Overflow.WAIT)
            .borrowTimeout(Duration.ofMillis(Cases.BORROW_TIMEOUT_MILLIS))
            .build();
        return Pool.create(PoolSpec.of("benchmark", () -> new Payload(42)), settings);
    }

    /** Fails the trial if the pool lost or overshot objects: a fast but wrong pool is no result. */
    static void stopAndCheck(Pool<Payload> pool) {
        PoolStats stats = pool.stats();
        pool.close();
        Cases.check(stats.borrows() > 0, "no borrow was counted: " + stats);
        Cases.check(stats.timeouts() == 0, "a borrow timed out: " + stats);
        Cases.check(stats.active() == 0 && stats.waiting() == 0, "a lease was not returned: " + stats);
        Cases.check(stats.size() == pool.maxSize() && stats.created() == pool.maxSize(),
                "objects were lost or recreated: " + stats);
    }
}
