package io.pivotpool.benchmarks;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;

import com.zaxxer.hikari.util.ConcurrentBag;
import com.zaxxer.hikari.util.ConcurrentBag.IConcurrentBagEntry;
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
 * HikariCP 7.1's {@code ConcurrentBag}, the data structure under its connection pool, used
 * directly with {@code borrow(timeout, unit)} / {@code requite(entry)} and a minimal entry (a
 * state word, as HikariCP's {@code PoolEntry} has). This is the bag alone: none of HikariCP's
 * connection handling, statistics or leak tracking. The listener adds nothing, as HikariCP's pool
 * does once it is at its maximum size. Run from {@code benchmarks.jar} the bag is loaded by the
 * system class loader, so it keeps strong thread-local references (no {@code WeakReference} per
 * return). The cases are those of {@link PivotPoolBenchmark}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(Cases.FORKS)
@Warmup(iterations = Cases.WARMUP_ITERATIONS, time = 1)
@Measurement(iterations = Cases.MEASUREMENT_ITERATIONS, time = 1)
public class HikariBagBenchmark {

    @Benchmark
    @Threads(1)
    public int borrowReturn1Thread(FullBag state) throws InterruptedException {
        return cycle(state.bag);
    }

    @Benchmark
    @Threads(2)
    public int borrowReturn2Threads(FullBag state) throws InterruptedException {
        return cycle(state.bag);
    }

    @Benchmark
    @Threads(2)
    public int handOff2Threads(BagOfOne state, HandOffCounter counter) throws InterruptedException {
        PayloadEntry entry = state.bag.borrow(Cases.BORROW_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        try {
            return counter.borrowed(entry.payload);
        }
        finally {
            state.bag.requite(entry);
        }
    }

    private static int cycle(ConcurrentBag<PayloadEntry> bag) throws InterruptedException {
        PayloadEntry entry = bag.borrow(Cases.BORROW_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        try {
            return entry.payload.value;
        }
        finally {
            bag.requite(entry);
        }
    }

    @State(Scope.Benchmark)
    public static class FullBag {

        ConcurrentBag<PayloadEntry> bag;

        @Setup(Level.Trial)
        public void start() {
            this.bag = newBag(Cases.POOL_SIZE);
        }

        @TearDown(Level.Trial)
        public void stop() {
            stopAndCheck(this.bag, Cases.POOL_SIZE);
        }
    }

    @State(Scope.Benchmark)
    public static class BagOfOne {

        ConcurrentBag<PayloadEntry> bag;

        @Setup(Level.Trial)
        public void start() {
            this.bag = newBag(1);
        }

        @TearDown(Level.Trial)
        public void stop() {
            stopAndCheck(this.bag, 1);
        }
    }

    static ConcurrentBag<PayloadEntry> newBag(int size) {
        ConcurrentBag<PayloadEntry> bag = new ConcurrentBag<>((waiting) -> {
        });
        for (int i = 0; i < size; i++) {
            bag.add(new PayloadEntry());
        }
        return bag;
    }

    static void stopAndCheck(ConcurrentBag<PayloadEntry> bag, int size) {
        int idle = bag.getCount(IConcurrentBagEntry.STATE_NOT_IN_USE);
        int waiting = bag.getWaitingThreadCount();
        bag.close();
        Cases.check(idle == size && bag.size() == size, "entries were lost: " + idle + " idle of " + bag.size());
        Cases.check(waiting == 0, waiting + " borrowers still wait");
    }

    /*
     * A minimal entry would be 24 bytes, and ten of them allocated in a row put neighbouring
     * entries' state words (and the payloads read next to them) on one cache line: two threads
     * working on neighbouring entries then slow each other down, which made single forks of the
     * 2-thread case 3 times slower than others. In HikariCP each PoolEntry sits among its
     * connection's objects, so neighbours do not share a line; the padding below gives the bag
     * that same footing, as our Slot and Stormpot's slots have theirs.
     */
    abstract static class EntryPadBefore {

        /** Fills the 4 bytes after the object header, where the state word would otherwise go. */
        int headerGap;

        long p00, p01, p02, p03, p04, p05, p06, p07;
    }

    abstract static class EntryState extends EntryPadBefore {

        volatile int state;
    }

    abstract static class EntryPadAfter extends EntryState {

        long p10, p11, p12, p13, p14, p15, p16, p17;
    }

    static final class PayloadEntry extends EntryPadAfter implements IConcurrentBagEntry {

        private static final VarHandle STATE;

        static {
            try {
                STATE = MethodHandles.lookup().findVarHandle(EntryState.class, "state", int.class);
            }
            catch (ReflectiveOperationException ex) {
                throw new ExceptionInInitializerError(ex);
            }
        }

        final Payload payload = new Payload(42);

        @Override
        public boolean compareAndSet(int expectState, int newState) {
            return STATE.compareAndSet(this, expectState, newState);
        }

        @Override
        public void setState(int newState) {
            this.state = newState;
        }

        @Override
        public int getState() {
            return this.state;
        }
    }
}
