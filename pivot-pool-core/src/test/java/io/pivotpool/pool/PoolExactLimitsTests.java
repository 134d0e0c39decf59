package io.pivotpool.pool;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The limits of issue 12, each proven where it used to break: an object counts until its destroy
 * returned, elastic returns destroy only the excess, callback Errors leave close() complete and
 * Pool.create quiet, hand-offs honour max-lifetime, and the statistics neither miss a failure nor
 * run backwards. The linearizability of setMaxSize is model-checked in {@link PoolLincheckTests}.
 */
class PoolExactLimitsTests {

    private final Factory factory = new Factory();

    private final List<Pool<?>> pools = new ArrayList<>();

    private final ExecutorService executor = Executors.newCachedThreadPool();

    @AfterEach
    void closePools() {
        for (Pool<?> pool : this.pools) {
            try {
                pool.close();
            }
            catch (Throwable ex) {
                // some tests make destroy throw on purpose
            }
        }
        this.executor.shutdownNow();
    }

    private Pool<Resource> pool(PoolSpec<Resource> spec, PoolSettings.Builder settings) {
        Pool<Resource> pool = Pool.create(spec, settings.build());
        this.pools.add(pool);
        return pool;
    }

    private static PoolSettings.Builder settings(int maxSize) {
        return PoolSettings.builder().maxSize(maxSize).borrowTimeout(Duration.ofSeconds(5));
    }

    // ---- 2: an object counts until its destroy has returned -----------------------------------

    @Test
    void anObjectBeingDestroyedStillCountsSoMaxOneNeverHasTwoAlive() throws Exception {
        CountDownLatch inDestroy = new CountDownLatch(1);
        CountDownLatch finishDestroy = new CountDownLatch(1);
        PoolSpec<Resource> spec = PoolSpec.of("slow-destroy", this.factory::create).withDestroy((r) -> {
            inDestroy.countDown();
            awaitQuietly(finishDestroy);
            this.factory.destroy(r);
        });
        Pool<Resource> pool = pool(spec, settings(1));
        Lease<Resource> lease = pool.borrow();
        Future<?> invalidating = this.executor.submit(lease::invalidate);
        assertThat(inDestroy.await(5, TimeUnit.SECONDS)).isTrue();

        assertThat(pool.tryBorrow()).as("a borrow while the only object is still being destroyed").isNull();
        assertThat(this.factory.maxLive).hasValue(1);
        PoolStats stats = pool.stats();
        assertThat(stats.size()).as("size counts the object whose destroy has not returned").isEqualTo(1);
        assertThat(stats.destroyed()).isZero();

        CompletableFuture<Resource> waiter = CompletableFuture.supplyAsync(() -> {
            try (Lease<Resource> next = pool.borrow()) {
                return next.get();
            }
        }, this.executor);
        await().atMost(Duration.ofSeconds(5)).until(() -> pool.stats().waiting() == 1);
        finishDestroy.countDown();
        invalidating.get(5, TimeUnit.SECONDS);
        assertThat(waiter.get(5, TimeUnit.SECONDS).id).as("the waiter creates once the destroy returned").isEqualTo(2);
        assertThat(this.factory.maxLive).hasValue(1);
    }

    @Test
    void aShrinkWaitsForDestroysInStatsSizeSoACallerCanWaitForIt() throws Exception {
        CountDownLatch finishDestroy = new CountDownLatch(1);
        PoolSpec<Resource> spec = PoolSpec.of("shrink-wait", this.factory::create).withDestroy((r) -> {
            awaitQuietly(finishDestroy);
            this.factory.destroy(r);
        });
        Pool<Resource> pool = pool(spec, settings(2).minIdle(2));
        Lease<Resource> held = pool.borrow();
        Future<?> shrinking = this.executor.submit(() -> pool.setMaxSize(1)); // destroys the idle one, slowly
        await().atMost(Duration.ofSeconds(5)).until(() -> pool.stats().idle() == 0);
        assertThat(pool.stats().size()).isEqualTo(2);
        held.close();
        assertThat(pool.stats().size()).isEqualTo(2);
        assertThat(pool.tryBorrow()).isNotNull().satisfies(Lease::close);
        finishDestroy.countDown();
        shrinking.get(5, TimeUnit.SECONDS);
        assertThat(pool.stats().size()).isEqualTo(1);
        assertThat(this.factory.live).hasValue(1);
    }

    // ---- 3: elastic destroys only the excess --------------------------------------------------

    @Test
    void elasticReturnsRacingEachOtherDestroyOnlyTheExcess() throws Exception {
        for (int round = 0; round < 200; round++) {
            Factory factory = new Factory();
            CyclicBarrier bothReturning = new CyclicBarrier(2);
            AtomicBoolean meet = new AtomicBoolean();
            PoolSpec<Resource> spec = PoolSpec.of("elastic-race", factory::create).withDestroy(factory::destroy)
                    .withReset((r) -> {
                        if (meet.get()) {
                            awaitQuietly(bothReturning);
                        }
                    });
            try (Pool<Resource> pool = Pool.create(spec,
                    settings(2).overflow(Overflow.ELASTIC).emergencyLimit(4).build())) {
                Lease<Resource> a = pool.borrow();
                Lease<Resource> b = pool.borrow();
                Lease<Resource> c = pool.borrow(); // one over max-size: the only excess
                meet.set(true);
                Future<?> returningB = this.executor.submit(b::close);
                c.close();
                returningB.get(5, TimeUnit.SECONDS);
                meet.set(false);
                a.close();
                assertThat(factory.destroyed).as("objects destroyed in round %d with one excess", round).hasValue(1);
                assertThat(pool.stats().size()).isEqualTo(2);
            }
        }
    }

    // ---- 4: callback Errors leave close() complete --------------------------------------------

    @Test
    void anErrorFromDestroyDuringCloseStillClosesEverythingAndIsReportedOnce() throws Exception {
        AtomicInteger destroyCalls = new AtomicInteger();
        PoolSpec<Resource> spec = PoolSpec.of("close-error", this.factory::create).withDestroy((r) -> {
            destroyCalls.incrementAndGet();
            this.factory.destroy(r);
            throw new AssertionError("destroy bug " + r);
        });
        Pool<Resource> pool = pool(spec, settings(3).minIdle(3));
        Lease<Resource> outstanding = pool.borrow();
        assertThat(housekeeperAlive("close-error")).isTrue();

        assertThatThrownBy(pool::close).isInstanceOf(AssertionError.class).hasMessageStartingWith("destroy bug")
                .satisfies((ex) -> assertThat(ex.getSuppressed()).hasSize(1));
        assertThat(destroyCalls).as("both idle objects destroyed").hasValue(2);
        assertThat(pool.stats().size()).isEqualTo(1);
        assertThatIllegalStateException().isThrownBy(pool::borrow).withMessageContaining("closed");
        pool.close(); // idempotent, nothing left to report

        assertThatThrownBy(outstanding::close).isInstanceOf(AssertionError.class); // the returner sees its own
        assertThat(this.factory.live).hasValue(0);
        assertThat(pool.stats().size()).isZero();
        await().atMost(Duration.ofSeconds(5)).until(() -> !housekeeperAlive("close-error"));
    }

    @Test
    void closeWakesWaitersEvenWhenDestroyThrowsAnError() throws Exception {
        PoolSpec<Resource> spec = PoolSpec.of("close-waiters", this.factory::create).withDestroy((r) -> {
            this.factory.destroy(r);
            throw new AssertionError("destroy bug");
        });
        Pool<Resource> pool = pool(spec, settings(2).borrowTimeout(Duration.ofSeconds(30)));
        Lease<Resource> first = pool.borrow();
        Lease<Resource> second = pool.borrow();
        CompletableFuture<Void> waiter = CompletableFuture.runAsync(() -> pool.borrow(), this.executor);
        await().atMost(Duration.ofSeconds(5)).until(() -> pool.stats().waiting() == 1);
        pool.close();
        assertThatThrownBy(() -> waiter.get(2, TimeUnit.SECONDS)).hasCauseInstanceOf(IllegalStateException.class);
        assertThatThrownBy(first::close).isInstanceOf(AssertionError.class);
        assertThatThrownBy(second::close).isInstanceOf(AssertionError.class);
        assertThat(pool.stats().size()).isZero();
        await().atMost(Duration.ofSeconds(5)).until(() -> !housekeeperAlive("close-waiters"));
    }

    // ---- 5: a factory Error while Pool.create fills min-idle ----------------------------------

    @Test
    void aFactoryErrorDuringTheMinIdleFillIsLoggedAndRetriedNotThrown() {
        AtomicBoolean explode = new AtomicBoolean(true);
        PoolSpec<Resource> spec = PoolSpec.<Resource>of("fill-error", () -> {
            if (this.factory.created.get() == 2 && explode.getAndSet(false)) {
                throw new AssertionError("factory bug");
            }
            return this.factory.create();
        }).withDestroy(this.factory::destroy);
        Pool<Resource> pool = pool(spec, settings(4).minIdle(3).housekeepingInterval(Duration.ofMillis(20)));
        PoolStats stats = pool.stats();
        assertThat(stats.size()).isEqualTo(2);
        assertThat(stats.creationFailures()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(3)).until(() -> pool.stats().idle() == 3);
        pool.close();
        assertThat(this.factory.live).as("objects created before the Error are destroyed, not leaked").hasValue(0);
    }

    // ---- 6: max-lifetime checked on a hand-off ------------------------------------------------

    @Test
    void checkLifetimeOnBorrowAppliesToAnObjectHandedToAWaiter() throws Exception {
        Pool<Resource> pool = pool(this.factory.spec("handoff-lifetime"), settings(1)
                .maxLifetime(Duration.ofMillis(50)).checkLifetimeOnBorrow(true).housekeepingInterval(Duration.ofHours(1)));
        Lease<Resource> held = pool.borrow();
        CompletableFuture<Resource> waiter = CompletableFuture.supplyAsync(() -> {
            try (Lease<Resource> lease = pool.borrow()) {
                return lease.get();
            }
        }, this.executor);
        await().atMost(Duration.ofSeconds(5)).until(() -> pool.stats().waiting() == 1);
        Thread.sleep(80);
        held.close();
        Resource received = waiter.get(5, TimeUnit.SECONDS);
        assertThat(received).as("the waiter must not receive an object past max-lifetime").isNotSameAs(held.get());
        assertThat(held.get().destroyed).isTrue();
    }

    // ---- 7: statistics and close --------------------------------------------------------------

    @Test
    void aFallbackFactoryErrorCountsAsACreationFailure() {
        AtomicBoolean explode = new AtomicBoolean();
        PoolSpec<Resource> spec = PoolSpec.<Resource>of("fallback-error", () -> {
            if (explode.get()) {
                throw new AssertionError("factory bug");
            }
            return this.factory.create();
        }).withDestroy(this.factory::destroy);
        Pool<Resource> pool = pool(spec, settings(1).overflow(Overflow.FALLBACK));
        Lease<Resource> held = pool.borrow();
        explode.set(true);
        assertThatThrownBy(pool::borrow).isInstanceOf(AssertionError.class);
        assertThat(pool.stats().creationFailures()).isEqualTo(1);
        held.close();
    }

    @Test
    void borrowsNeverGoBackwardsBetweenTwoStatsCalls() throws Exception {
        Pool<Resource> pool = pool(this.factory.spec("monotonic"), settings(2));
        AtomicBoolean stop = new AtomicBoolean();
        Future<?> churn = this.executor.submit(() -> {
            while (!stop.get()) {
                Lease<Resource> lease = pool.borrow();
                lease.get();
                lease.invalidate(); // the slot's borrow count moves to the retired count
            }
        });
        long previous = 0;
        long backwards = 0;
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(700);
        while (System.nanoTime() < end) {
            long borrows = pool.stats().borrows();
            if (borrows < previous) {
                backwards++;
            }
            previous = Math.max(previous, borrows);
        }
        stop.set(true);
        churn.get(5, TimeUnit.SECONDS);
        assertThat(backwards).as("stats() calls whose borrows went backwards").isZero();
    }

    @Test
    void aBorrowThatObtainsItsObjectAfterCloseBeganFails() throws Exception {
        CountDownLatch inValidate = new CountDownLatch(1);
        CountDownLatch finishValidate = new CountDownLatch(1);
        AtomicReference<Thread> slowIn = new AtomicReference<>();
        PoolSpec<Resource> spec = this.factory.spec("close-in-flight").withValidate((r) -> {
            if (Thread.currentThread() == slowIn.get()) {
                inValidate.countDown();
                awaitQuietly(finishValidate);
            }
            return true;
        });
        Pool<Resource> pool = pool(spec, settings(2).minIdle(1));
        CompletableFuture<Lease<Resource>> borrowing = CompletableFuture.supplyAsync(() -> {
            slowIn.set(Thread.currentThread());
            return pool.borrow();
        }, this.executor);
        assertThat(inValidate.await(5, TimeUnit.SECONDS)).isTrue();
        pool.close();
        finishValidate.countDown();
        assertThatThrownBy(() -> borrowing.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
        assertThat(this.factory.live).hasValue(0);
    }

    // ---- helpers ------------------------------------------------------------------------------

    private static boolean housekeeperAlive(String poolName) {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch((thread) -> thread.getName().equals("pivot-pool-housekeeper-" + poolName) && thread.isAlive());
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private static void awaitQuietly(CyclicBarrier barrier) {
        try {
            barrier.await(10, TimeUnit.SECONDS);
        }
        catch (Exception ex) {
            throw new IllegalStateException(ex);
        }
    }
}
