package io.pivotpool.pool;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import kotlin.Unit;
import kotlin.jvm.JvmClassMappingKt;
import kotlin.jvm.functions.Function1;
import kotlin.reflect.KFunction;
import org.jetbrains.lincheck.datastructures.DSLScenarioBuilder;
import org.jetbrains.lincheck.datastructures.DSLThreadScenario;
import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.ThreadIdGen;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Model checking of the small-pool operations with Lincheck: every interleaving of a few
 * {@code tryBorrow}, return, {@code invalidate} and {@code setMaxSize} calls on two or three
 * threads (up to the explored bound) must give results that some sequential order of the same
 * calls gives too, and leave exact accounting behind. The sequential order is the same pool
 * driven by one thread, so the specification is the pool's own single-threaded behaviour: a
 * {@code tryBorrow} succeeds if an object is idle or the pool is below its limit, whatever the
 * other threads are doing. This is where "a borrow that read the old limit creates after
 * setMaxSize returned" and "tryBorrow finds no room although there was room throughout" show up.
 *
 * <p>Each thread holds its own leases (the thread index comes from {@link ThreadIdGen}), as real
 * borrowers do. The pools run without their housekeeper thread, which the model checker could
 * not control.
 *
 * <p>Random scenarios at a budget CI can afford find the races of issue 12 only by luck, so each
 * race also has a custom scenario, whose interleavings the model checker explores in full; each
 * of them fails against the engine before issue 12 (or, for the shrink racing a hot-path
 * return, against this engine without {@code keepClaimed}'s excess check). The whole class runs
 * in well under a minute.
 */
@Tag("slow")
class PoolLincheckTests {

    private static final int RANDOM_SCENARIOS = 5;

    private static final int INVOCATIONS = 1_000;

    @Test
    void waitPoolOperationsAreLinearizable() {
        options()
                // a creator that read the old limit must not create after setMaxSize returned (the
                // size read after the shrink is what a cluster-wide cap relies on)
                .addCustomScenario(scenario(WaitPool.class, List.of("tryBorrow 0"),
                        List.of("tryBorrow 1"), List.of("setMaxSize 1", "size"), List.of("giveBack 1")))
                // a hot-path return racing a shrink must not let the next borrow use its object
                .addCustomScenario(scenario(WaitPool.class, List.of("tryBorrow 0"),
                        List.of("giveBack 0", "tryBorrow 0"), List.of("setMaxSize 0", "tryBorrow 1"), List.of()))
                // a grow is seen at once: room throughout means tryBorrow succeeds
                .addCustomScenario(scenario(WaitPool.class, List.of("setMaxSize 1", "tryBorrow 0"),
                        List.of("tryBorrow 1", "tryBorrow 1"), List.of("setMaxSize 2", "invalidate 0"), List.of("size")))
                .check(WaitPool.class);
    }

    @Test
    void elasticPoolOperationsAreLinearizable() {
        options()
                // two returns above max-size with one excess destroy exactly one object
                .addCustomScenario(scenario(ElasticPool.class, List.of("tryBorrow 0", "tryBorrow 1"),
                        List.of("giveBack 0"), List.of("giveBack 1"), List.of("size", "tryBorrow 0", "tryBorrow 1")))
                .check(ElasticPool.class);
    }

    private static ModelCheckingOptions options() {
        return new ModelCheckingOptions().iterations(RANDOM_SCENARIOS).invocationsPerIteration(INVOCATIONS)
                .threads(2).actorsPerThread(3).actorsBefore(2).actorsAfter(1);
    }

    /**
     * A scenario of {@code model}'s operations, each written as its name and its int argument if
     * it has one ({@code "tryBorrow 1"}, {@code "size"}); two threads run in parallel.
     */
    private static Function1<DSLScenarioBuilder, Unit> scenario(Class<?> model, List<String> initial,
            List<String> first, List<String> second, List<String> post) {
        return (builder) -> {
            builder.initial(actors(model, initial));
            builder.parallel((threads) -> {
                threads.thread(actors(model, first));
                threads.thread(actors(model, second));
                return Unit.INSTANCE;
            });
            builder.post(actors(model, post));
            return Unit.INSTANCE;
        };
    }

    private static Function1<DSLThreadScenario, Unit> actors(Class<?> model, List<String> operations) {
        return (thread) -> {
            for (String operation : operations) {
                String[] parts = operation.split(" ");
                KFunction<?> function = JvmClassMappingKt.getKotlinClass(model).getMembers().stream()
                        .filter((member) -> member instanceof KFunction<?> && member.getName().equals(parts[0]))
                        .map((member) -> (KFunction<?>) member).findFirst()
                        .orElseThrow(() -> new IllegalArgumentException("no operation " + operation));
                Object[] arguments = (parts.length == 1) ? new Object[0] : new Object[] { Integer.parseInt(parts[1]) };
                thread.actor(function, arguments);
            }
            return Unit.INSTANCE;
        };
    }

    /** Operations and the end-of-run accounting shared by both overflow strategies. */
    abstract static class PoolUnderTest {

        /** Objects whose destroy has not run; never above the pool's size. */
        final AtomicInteger live = new AtomicInteger();

        final LocalPool<Object> pool;

        /** Leases per thread index; each index is used by one thread only. */
        @SuppressWarnings("unchecked")
        private final Deque<Lease<Object>>[] held = new Deque[8];

        PoolUnderTest(PoolSettings settings) {
            PoolSpec<Object> spec = PoolSpec.<Object>of("lincheck", () -> {
                this.live.incrementAndGet();
                return new Object();
            }).withDestroy((object) -> this.live.decrementAndGet());
            this.pool = new LocalPool<>(spec, settings, false);
            for (int i = 0; i < this.held.length; i++) {
                this.held[i] = new ArrayDeque<>();
            }
        }

        @Operation
        public boolean tryBorrow(@Param(gen = ThreadIdGen.class) int thread) {
            Lease<Object> lease = this.pool.tryBorrow();
            if (lease == null) {
                return false;
            }
            this.held[thread].push(lease);
            return true;
        }

        @Operation
        public boolean giveBack(@Param(gen = ThreadIdGen.class) int thread) {
            Lease<Object> lease = this.held[thread].poll();
            if (lease == null) {
                return false;
            }
            lease.close();
            return true;
        }

        /**
         * What a cluster-wide cap reads after lowering max-size: every object not yet destroyed
         * (the read behind stats().size(), without the histogram that would exceed the model
         * checker's loop bound). Used only by the custom scenarios, where no destroy overlaps it:
         * an object being destroyed still counts (issue 12), a state between "decided to destroy"
         * and "destroyed" that a sequential specification, where a destroy is instantaneous,
         * cannot show.
         */
        public int size() {
            return this.pool.engine().size();
        }

        @Operation
        public boolean invalidate(@Param(gen = ThreadIdGen.class) int thread) {
            Lease<Object> lease = this.held[thread].poll();
            if (lease == null) {
                return false;
            }
            lease.invalidate();
            return true;
        }

        /**
         * At rest: the counts agree with each other and with the objects alive, borrowed objects
         * are the ones the threads hold, and after a housekeeping tick (which sweeps objects that
         * were returned at the instant of a shrink) the pool keeps no more than its limit beyond
         * what is borrowed. (Lincheck allows one {@link Validate} method per class hierarchy
         * walk, so each pool class declares its own and calls this.)
         */
        void checkAccountingAtRest() {
            int borrowed = 0;
            for (Deque<Lease<Object>> leases : this.held) {
                borrowed += leases.size();
            }
            PoolStats stats = this.pool.stats();
            check(stats.size() == this.live.get(), "size " + stats.size() + " but " + this.live + " alive");
            check(stats.idle() + stats.active() == stats.size(), "idle + active != size: " + stats);
            check(stats.active() == borrowed, "active " + stats.active() + " but " + borrowed + " held");
            check(stats.created() - stats.destroyed() == stats.size(), "created - destroyed != size: " + stats);
            this.pool.engine().housekeep();
            stats = this.pool.stats();
            check(stats.size() <= Math.max(stats.maxSize(), borrowed), "above the limit at rest: " + stats);
        }

        private static void check(boolean condition, String message) {
            if (!condition) {
                throw new IllegalStateException(message);
            }
        }
    }

    public static final class WaitPool extends PoolUnderTest {

        public WaitPool() {
            super(PoolSettings.builder().maxSize(2).overflow(Overflow.WAIT).borrowTimeout(Duration.ZERO)
                    .idleTimeout(Duration.ZERO).build());
        }

        /** One thread resizes, as the coordinator does. */
        @Operation(nonParallelGroup = "resizer")
        public void setMaxSize(@Param(gen = IntGen.class, conf = "0:3") int max) {
            this.pool.setMaxSize(max);
        }

        @Validate
        public void accountingIsExactAtRest() {
            checkAccountingAtRest();
        }
    }

    /**
     * Max-size 1, emergency limit 2: borrows beyond max-size, and returns above it that destroy
     * exactly the excess. Without setMaxSize, on purpose: objects count until their destroy has
     * returned (issue 12), so while a shrink destroys an idle object that is above max-size but
     * below the emergency limit, a borrower at the emergency limit is refused, where any
     * sequential order of the same calls would give it either that idle object or the room it
     * leaves. That refusal is the promise (never more objects alive than counted), not a race;
     * elastic shrinking is covered by PoolTests and PoolStressTests instead.
     */
    public static final class ElasticPool extends PoolUnderTest {

        public ElasticPool() {
            super(PoolSettings.builder().maxSize(1).overflow(Overflow.ELASTIC).emergencyLimit(2)
                    .borrowTimeout(Duration.ZERO).idleTimeout(Duration.ZERO).build());
        }

        @Validate
        public void accountingIsExactAtRest() {
            checkAccountingAtRest();
        }
    }
}
