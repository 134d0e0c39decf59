package io.pivotpool.benchmarks;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.apache.commons.pool2.BasePooledObjectFactory;
import org.apache.commons.pool2.PooledObject;
import org.apache.commons.pool2.impl.DefaultPooledObject;
import org.apache.commons.pool2.impl.GenericObjectPool;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
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
 * commons-pool2's {@code GenericObjectPool} with {@code borrowObject()} / {@code returnObject()};
 * default configuration (blocking when exhausted, LIFO, no validation) apart from the size, and
 * no JMX registration. The cases are those of {@link PivotPoolBenchmark}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(Cases.FORKS)
@Warmup(iterations = Cases.WARMUP_ITERATIONS, time = 1)
@Measurement(iterations = Cases.MEASUREMENT_ITERATIONS, time = 1)
public class CommonsPool2Benchmark {

    @Benchmark
    @Threads(1)
    public int borrowReturn1Thread(FullPool state) throws Exception {
        return cycle(state.pool);
    }

    @Benchmark
    @Threads(2)
    public int borrowReturn2Threads(FullPool state) throws Exception {
        return cycle(state.pool);
    }

    @Benchmark
    @Threads(2)
    public int handOff2Threads(PoolOfOne state, HandOffCounter counter) throws Exception {
        Payload payload = state.pool.borrowObject();
        try {
            return counter.borrowed(payload);
        }
        finally {
            state.pool.returnObject(payload);
        }
    }

    private static int cycle(GenericObjectPool<Payload> pool) throws Exception {
        Payload payload = pool.borrowObject();
        try {
            return payload.value;
        }
        finally {
            pool.returnObject(payload);
        }
    }

    @State(Scope.Benchmark)
    public static class FullPool {

        GenericObjectPool<Payload> pool;

        @Setup(Level.Trial)
        public void start() throws Exception {
            this.pool = newPool(Cases.POOL_SIZE);
        }

        @TearDown(Level.Trial)
        public void stop() {
            stopAndCheck(this.pool);
        }
    }

    @State(Scope.Benchmark)
    public static class PoolOfOne {

        GenericObjectPool<Payload> pool;

        @Setup(Level.Trial)
        public void start() throws Exception {
            this.pool = newPool(1);
        }

        @TearDown(Level.Trial)
        public void stop() {
            stopAndCheck(this.pool);
        }
    }

    static GenericObjectPool<Payload> newPool(int size) throws Exception {
        GenericObjectPoolConfig<Payload> config = new GenericObjectPoolConfig<>();
        config.setMaxTotal(size);
        config.setMaxIdle(size);
        config.setMaxWait(Duration.ofMillis(Cases.BORROW_TIMEOUT_MILLIS));
        config.setJmxEnabled(false);
        GenericObjectPool<Payload> pool = new GenericObjectPool<>(new PayloadFactory(), config);
        pool.addObjects(size);
        return pool;
    }

    static void stopAndCheck(GenericObjectPool<Payload> pool) {
        long borrowed = pool.getBorrowedCount();
        int active = pool.getNumActive();
        long created = pool.getCreatedCount();
        pool.close();
        Cases.check(borrowed > 0, "no borrow was counted");
        Cases.check(active == 0, active + " objects were not returned");
        Cases.check(created == pool.getMaxTotal(), "objects were lost or recreated: created " + created);
    }

    static final class PayloadFactory extends BasePooledObjectFactory<Payload> {

        @Override
        public Payload create() {
            return new Payload(42);
        }

        @Override
        public PooledObject<Payload> wrap(Payload payload) {
            return new DefaultPooledObject<>(payload);
        }
    }
}
