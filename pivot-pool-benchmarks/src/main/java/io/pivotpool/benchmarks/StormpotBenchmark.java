package io.pivotpool.benchmarks;

import java.util.concurrent.TimeUnit;

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
import stormpot.Allocator;
import stormpot.BasePoolable;
import stormpot.Expiration;
import stormpot.Pool;
import stormpot.PoolBuilder;
import stormpot.PoolTap;
import stormpot.Slot;
import stormpot.Timeout;

/**
 * Stormpot 3.2's {@code BlazePool} with {@code claim(timeout)} / {@code release()}. Two parameters:
 * <ul>
 * <li>{@code expiration}: {@code default} keeps the builder's (8 to 10 minutes after allocation,
 * checked on every claim), {@code never} sets {@code Expiration.never()};
 * <li>{@code tap}: {@code pool} claims from the pool itself, which caches each thread's last object
 * in a {@code ThreadLocal} as ours does; {@code threadLocal} gives each thread its own
 * {@code pool.getThreadLocalTap()}, Stormpot's fastest access path, which keeps that cache in a
 * field instead and so skips the {@code ThreadLocal} lookup.
 * </ul>
 * The cases are those of {@link PivotPoolBenchmark}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(Cases.FORKS)
@Warmup(iterations = Cases.WARMUP_ITERATIONS, time = 1)
@Measurement(iterations = Cases.MEASUREMENT_ITERATIONS, time = 1)
public class StormpotBenchmark {

    private static final Timeout TIMEOUT = new Timeout(Cases.BORROW_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);

    @Benchmark
    @Threads(1)
    public int borrowReturn1Thread(FullPoolTap state) throws InterruptedException {
        return cycle(state.tap);
    }

    @Benchmark
    @Threads(2)
    public int borrowReturn2Threads(FullPoolTap state) throws InterruptedException {
        return cycle(state.tap);
    }

    @Benchmark
    @Threads(2)
    public int handOff2Threads(PoolOfOneTap state, HandOffCounter counter) throws InterruptedException {
        PoolablePayload poolable = state.tap.claim(TIMEOUT);
        try {
            return counter.borrowed(poolable.payload);
        }
        finally {
            poolable.release();
        }
    }

    private static int cycle(PoolTap<PoolablePayload> tap) throws InterruptedException {
        PoolablePayload poolable = tap.claim(TIMEOUT);
        try {
            return poolable.payload.value;
        }
        finally {
            poolable.release();
        }
    }

    @State(Scope.Benchmark)
    public static class Choice {

        @Param({ "default", "never" })
        String expiration;

        @Param({ "pool", "threadLocal" })
        String tap;

        PoolTap<PoolablePayload> tapOf(Pool<PoolablePayload> pool) {
            return switch (this.tap) {
                case "pool" -> pool;
                case "threadLocal" -> pool.getThreadLocalTap();
                default -> throw new IllegalArgumentException("Unknown tap '" + this.tap + "'");
            };
        }
    }

    @State(Scope.Benchmark)
    public static class FullPool {

        Pool<PoolablePayload> pool;

        @Setup(Level.Trial)
        public void start(Choice choice) throws InterruptedException {
            this.pool = newPool(Cases.POOL_SIZE, choice.expiration);
        }

        @TearDown(Level.Trial)
        public void stop() throws InterruptedException {
            stopAndCheck(this.pool);
        }
    }

    @State(Scope.Benchmark)
    public static class PoolOfOne {

        Pool<PoolablePayload> pool;

        @Setup(Level.Trial)
        public void start(Choice choice) throws InterruptedException {
            this.pool = newPool(1, choice.expiration);
        }

        @TearDown(Level.Trial)
        public void stop() throws InterruptedException {
            stopAndCheck(this.pool);
        }
    }

    /** Each thread's way into {@link FullPool}: a thread-local tap must not be shared. */
    @State(Scope.Thread)
    public static class FullPoolTap {

        PoolTap<PoolablePayload> tap;

        @Setup(Level.Trial)
        public void open(FullPool pool, Choice choice) {
            this.tap = choice.tapOf(pool.pool);
        }
    }

    /** Each thread's way into {@link PoolOfOne}. */
    @State(Scope.Thread)
    public static class PoolOfOneTap {

        PoolTap<PoolablePayload> tap;

        @Setup(Level.Trial)
        public void open(PoolOfOne pool, Choice choice) {
            this.tap = choice.tapOf(pool.pool);
        }
    }

    static Pool<PoolablePayload> newPool(int size, String expiration) throws InterruptedException {
        PoolBuilder<PoolablePayload> builder = Pool.from(new PayloadAllocator()).setSize(size);
        switch (expiration) {
            case "default" -> {
            }
            case "never" -> builder.setExpiration(Expiration.never());
            default -> throw new IllegalArgumentException("Unknown expiration '" + expiration + "'");
        }
        Pool<PoolablePayload> pool = builder.build();
        // Stormpot allocates in the background: start measuring on a full pool, as for the others.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (pool.getManagedPool().getAllocationCount() < size) {
            Cases.check(System.nanoTime() < deadline, "Stormpot did not fill the pool in 10 s");
            Thread.sleep(1);
        }
        return pool;
    }

    static void stopAndCheck(Pool<PoolablePayload> pool) throws InterruptedException {
        long allocated = pool.getManagedPool().getAllocationCount();
        long failed = pool.getManagedPool().getFailedAllocationCount();
        int size = pool.getTargetSize();
        Cases.check(pool.shutdown().await(new Timeout(10, TimeUnit.SECONDS)), "a claimed object was not released");
        Cases.check(failed == 0, failed + " allocations failed");
        Cases.check(allocated == size, "objects were lost or reallocated: allocated " + allocated);
    }

    static final class PoolablePayload extends BasePoolable {

        final Payload payload = new Payload(42);

        PoolablePayload(Slot slot) {
            super(slot);
        }
    }

    static final class PayloadAllocator implements Allocator<PoolablePayload> {

        @Override
        public PoolablePayload allocate(Slot slot) {
            return new PoolablePayload(slot);
        }

        @Override
        public void deallocate(PoolablePayload poolable) {
        }
    }
}
