package io.pivotpool.pool;

import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class PoolTests {

    private final Factory factory = new Factory();

    private final List<Pool<?>> pools = new ArrayList<>();

    private final ExecutorService executor = Executors.newCachedThreadPool();

    @AfterEach
    void closePools() {
        this.pools.forEach(Pool::close);
        this.executor.shutdownNow();
    }

    private Pool<Resource> pool(PoolSettings.Builder settings) {
        return pool(this.factory.spec("test"), settings);
    }

    private Pool<Resource> pool(PoolSpec<Resource> spec, PoolSettings.Builder settings) {
        Pool<Resource> pool = Pool.create(spec, settings.build());
        this.pools.add(pool);
        return pool;
    }

    private static PoolSettings.Builder settings(int maxSize) {
        return PoolSettings.builder().maxSize(maxSize).borrowTimeout(Duration.ofMillis(200));
    }

    // ---- sizing -------------------------------------------------------------------------------

    @Test
    void createsMinIdleObjectsAtStart() {
        Pool<Resource> pool = pool(settings(8).minIdle(3));
        assertThat(this.factory.created).hasValue(3);
        PoolStats stats = pool.stats();
        assertThat(stats.size()).isEqualTo(3);
        assertThat(stats.idle()).isEqualTo(3);
        assertThat(stats.active()).isZero();
    }

    @Test
    void reusesTheSameObjectForOneThread() {
        Pool<Resource> pool = pool(settings(4));
        Resource first;
        try (Lease<Resource> lease = pool.borrow()) {
            first = lease.get();
        }
        for (int i = 0; i < 10; i++) {
            try (Lease<Resource> lease = pool.borrow()) {
                assertThat(lease.get()).isSameAs(first);
            }
        }
        assertThat(this.factory.created).hasValue(1);
        assertThat(pool.stats().borrows()).isEqualTo(11);
        assertThat(first.resets).isEqualTo(11);
    }

    @Test
    void neverCreatesMoreThanMaxSize() {
        Pool<Resource> pool = pool(settings(3).overflow(Overflow.FAIL));
        List<Lease<Resource>> leases = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            leases.add(pool.borrow());
        }
        assertThatThrownBy(pool::borrow).isInstanceOf(PoolExhaustedException.class);
        assertThat(this.factory.created).hasValue(3);
        leases.forEach(Lease::close);
        assertThat(pool.stats().idle()).isEqualTo(3);
    }

    // ---- overflow strategies ------------------------------------------------------------------

    @Test
    void waitTimesOutWithExceptionNamingPoolSizeAndWait() {
        Pool<Resource> pool = pool(settings(1));
        Lease<Resource> held = pool.borrow();
        long start = System.nanoTime();
        assertThatThrownBy(() -> pool.borrow(Duration.ofMillis(100))).isInstanceOfSatisfying(
                PoolExhaustedException.class, (ex) -> {
                    assertThat(ex.getPoolName()).isEqualTo("test");
                    assertThat(ex.getMaxSize()).isEqualTo(1);
                    assertThat(ex.getSize()).isEqualTo(1);
                    assertThat(ex.getWaited()).isGreaterThanOrEqualTo(Duration.ofMillis(100));
                    assertThat(ex.getMessage()).contains("'test'").contains("max-size 1").contains("waited");
                });
        long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(waitedMillis).isBetween(100L, 1000L);
        held.close();
        PoolStats stats = pool.stats();
        assertThat(stats.timeouts()).isEqualTo(1);
        assertThat(stats.waitTime().maxNanos()).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(100));
    }

    @Test
    void waitHandsReturnedObjectsToWaitersInArrivalOrder() throws Exception {
        Pool<Resource> pool = pool(settings(1).borrowTimeout(Duration.ofSeconds(10)));
        Lease<Resource> held = pool.borrow();
        List<Integer> order = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<Future<?>> waiters = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            int number = i;
            waiters.add(this.executor.submit(() -> {
                try (Lease<Resource> lease = pool.borrow()) {
                    order.add(number);
                }
            }));
            int expectedWaiting = i + 1;
            await().atMost(Duration.ofSeconds(5)).until(() -> pool.stats().waiting() == expectedWaiting);
        }
        held.close();
        for (Future<?> waiter : waiters) {
            waiter.get(5, TimeUnit.SECONDS);
        }
        assertThat(order).containsExactly(0, 1, 2, 3, 4);
        assertThat(this.factory.created).hasValue(1);
        assertThat(pool.stats().waiting()).isZero();
        assertThat(pool.stats().waitTime().borrows()).isEqualTo(6);
        assertThat(pool.stats().waitTime().count()).as("the borrows that waited, as the wait timer counts them")
            .isEqualTo(5);
    }

    @Test
    void failThrowsAtOnce() {
        Pool<Resource> pool = pool(settings(1).overflow(Overflow.FAIL).borrowTimeout(Duration.ofSeconds(10)));
        try (Lease<Resource> held = pool.borrow()) {
            long start = System.nanoTime();
            assertThatThrownBy(pool::borrow).isInstanceOf(PoolExhaustedException.class);
            assertThat(System.nanoTime() - start).isLessThan(TimeUnit.MILLISECONDS.toNanos(100));
        }
        assertThat(pool.stats().timeouts()).isEqualTo(1);
    }

    @Test
    void elasticCreatesUpToEmergencyLimitAndShrinksBackAsLeasesReturn() {
        Pool<Resource> pool = pool(settings(2).overflow(Overflow.ELASTIC).emergencyLimit(4));
        List<Lease<Resource>> leases = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            leases.add(pool.borrow());
        }
        assertThat(pool.stats().size()).isEqualTo(4);
        assertThat(pool.stats().overflowCreated()).isEqualTo(2);
        assertThatThrownBy(() -> pool.borrow(Duration.ofMillis(50))).isInstanceOf(PoolExhaustedException.class);
        leases.forEach(Lease::close);
        PoolStats stats = pool.stats();
        assertThat(stats.size()).isEqualTo(2);
        assertThat(stats.idle()).isEqualTo(2);
        assertThat(this.factory.destroyed).hasValue(2);
        assertThat(this.factory.live).hasValue(2);
    }

    @Test
    void elasticDefaultsItsEmergencyLimitToTwiceMaxSize() {
        assertThat(settings(5).overflow(Overflow.ELASTIC).build().emergencyLimit()).isEqualTo(10);
    }

    @Test
    void fallbackHandsOutUnpooledObjectsDestroyedOnReturn() {
        Pool<Resource> pool = pool(settings(1).overflow(Overflow.FALLBACK));
        Lease<Resource> pooled = pool.borrow();
        Lease<Resource> extra = pool.borrow();
        assertThat(extra.get()).isNotSameAs(pooled.get());
        assertThat(pool.stats().size()).isEqualTo(1);
        extra.close();
        assertThat(extra.get().destroyed).isTrue();
        assertThat(pooled.get().destroyed).isFalse();
        pooled.close();
        PoolStats stats = pool.stats();
        assertThat(stats.overflowCreated()).isEqualTo(1);
        assertThat(stats.created()).isEqualTo(2);
        assertThat(stats.destroyed()).isEqualTo(1);
        assertThat(stats.borrows()).isEqualTo(2);
        assertThat(stats.size()).isEqualTo(1);
    }

    @Test
    void tryBorrowReturnsNullInsteadOfWaitingOrThrowing() {
        Pool<Resource> pool = pool(settings(1).borrowTimeout(Duration.ofSeconds(10)));
        Lease<Resource> held = pool.tryBorrow();
        assertThat(held).isNotNull();
        long start = System.nanoTime();
        assertThat(pool.tryBorrow()).isNull();
        assertThat(System.nanoTime() - start).isLessThan(TimeUnit.MILLISECONDS.toNanos(100));
        assertThat(pool.stats().timeouts()).isZero();
        held.close();
        assertThat(pool.tryBorrow()).isNotNull();
    }

    @Test
    void zeroTimeoutNeverWaits() {
        Pool<Resource> pool = pool(settings(1).borrowTimeout(Duration.ofSeconds(10)));
        try (Lease<Resource> held = pool.borrow()) {
            assertThatThrownBy(() -> pool.borrow(Duration.ZERO)).isInstanceOf(PoolExhaustedException.class);
        }
    }

    // ---- run-time resizing --------------------------------------------------------------------

    @Test
    void growingMaxSizeServesAWaiterAtOnce() throws Exception {
        Pool<Resource> pool = pool(settings(1).borrowTimeout(Duration.ofSeconds(10)));
        Lease<Resource> held = pool.borrow();
        CompletableFuture<Resource> waiter = CompletableFuture.supplyAsync(() -> {
            try (Lease<Resource> lease = pool.borrow()) {
                return lease.get();
            }
        }, this.executor);
        await().atMost(Duration.ofSeconds(5)).until(() -> pool.stats().waiting() == 1);
        pool.setMaxSize(2);
        assertThat(waiter.get(2, TimeUnit.SECONDS)).isNotSameAs(held.get());
        held.close();
        assertThat(pool.stats().size()).isEqualTo(2);
    }

    @Test
    void shrinkingDestroysIdleObjectsThenReturnedOnesButNeverBorrowedOnes() {
        Pool<Resource> pool = pool(settings(6).minIdle(6));
        List<Lease<Resource>> borrowed = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            borrowed.add(pool.borrow());
        }
        pool.setMaxSize(1);
        // the two idle ones go at once; the four borrowed ones stay in their borrowers' hands
        assertThat(pool.stats().size()).isEqualTo(4);
        assertThat(borrowed).allSatisfy((lease) -> assertThat(lease.get().destroyed).isFalse());
        for (int i = 0; i < 3; i++) {
            borrowed.get(i).close();
            assertThat(borrowed.get(i).get().destroyed).isTrue();
        }
        borrowed.get(3).close();
        assertThat(borrowed.get(3).get().destroyed).isFalse();
        PoolStats stats = pool.stats();
        assertThat(stats.size()).isEqualTo(1);
        assertThat(stats.maxSize()).isEqualTo(1);
        assertThat(this.factory.live).hasValue(1);
    }

    @Test
    void setMaxSizeRejectsNegativeValues() {
        Pool<Resource> pool = pool(settings(2));
        assertThatIllegalArgumentException().isThrownBy(() -> pool.setMaxSize(-1)).withMessageContaining("max-size");
    }

    // ---- lifetimes ----------------------------------------------------------------------------

    @Test
    void idleObjectsAboveMinIdleAreEvictedAfterIdleTimeout() {
        Pool<Resource> pool = pool(settings(4).minIdle(1).idleTimeout(Duration.ofMillis(100))
                .housekeepingInterval(Duration.ofMillis(20)));
        List<Lease<Resource>> leases = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            leases.add(pool.borrow());
        }
        leases.forEach(Lease::close);
        assertThat(pool.stats().size()).isEqualTo(4);
        await().atMost(Duration.ofSeconds(3)).until(() -> pool.stats().size() == 1);
        assertThat(this.factory.destroyed).hasValue(3);
    }

    @Test
    void anObjectInUseIsNotIdle() throws Exception {
        Pool<Resource> pool = pool(settings(1).idleTimeout(Duration.ofMillis(100))
                .housekeepingInterval(Duration.ofMillis(20)));
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(400);
        while (System.nanoTime() < end) {
            try (Lease<Resource> lease = pool.borrow()) {
                Thread.sleep(5);
            }
        }
        assertThat(this.factory.created).hasValue(1);
    }

    @Test
    void maxLifetimeRetiresIdleObjectsAndBorrowedOnesOnReturn() {
        Pool<Resource> pool = pool(settings(2).minIdle(1).maxLifetime(Duration.ofMillis(150))
                .housekeepingInterval(Duration.ofMillis(20)));
        Lease<Resource> borrowed = pool.borrow();
        Resource old = borrowed.get();
        Lease<Resource> second = pool.borrow();
        second.close();
        Resource idle = second.get();
        await().atMost(Duration.ofSeconds(3)).until(() -> idle.destroyed);
        assertThat(old.destroyed).isFalse();
        borrowed.close();
        assertThat(old.destroyed).isTrue();
        // min-idle is replenished with a fresh object
        await().atMost(Duration.ofSeconds(3)).until(() -> pool.stats().idle() == 1);
    }

    @Test
    void checkLifetimeOnBorrowNeverHandsOutAnExpiredObject() throws Exception {
        Pool<Resource> pool = pool(settings(1).maxLifetime(Duration.ofMillis(50)).checkLifetimeOnBorrow(true)
                .housekeepingInterval(Duration.ofHours(1)));
        Resource first;
        try (Lease<Resource> lease = pool.borrow()) {
            first = lease.get();
        }
        Thread.sleep(80);
        try (Lease<Resource> lease = pool.borrow()) {
            assertThat(lease.get()).isNotSameAs(first);
        }
        assertThat(first.destroyed).isTrue();
    }

    // ---- leaks --------------------------------------------------------------------------------

    @Test
    void aLeaseHeldPastTheThresholdLogsOneWarningWithTheBorrowersStack() {
        CapturedLogs appender = captureLogs();
        try {
            Pool<Resource> pool = pool(settings(2).leakDetectionThreshold(Duration.ofMillis(50))
                    .housekeepingInterval(Duration.ofMillis(20)));
            Lease<Resource> leaked = borrowInANamedMethod(pool);
            await().atMost(Duration.ofSeconds(3)).until(() -> pool.stats().leaks() == 1);
            sleep(100);
            List<ILoggingEvent> warnings = appender.events.stream()
                    .filter((event) -> event.getFormattedMessage().contains("possible leak")).toList();
            assertThat(warnings).hasSize(1);
            assertThat(warnings.get(0).getThrowableProxy().getStackTraceElementProxyArray())
                    .anySatisfy((frame) -> assertThat(frame.getSTEAsString()).contains("borrowInANamedMethod"));
            leaked.close();
        }
        finally {
            releaseLogs(appender);
        }
    }

    @Test
    void aLeaseReturnedInTimeIsNotReported() {
        Pool<Resource> pool = pool(settings(2).leakDetectionThreshold(Duration.ofMillis(200))
                .housekeepingInterval(Duration.ofMillis(20)));
        for (int i = 0; i < 20; i++) {
            try (Lease<Resource> lease = pool.borrow()) {
                sleep(10);
            }
        }
        sleep(300);
        assertThat(pool.stats().leaks()).isZero();
    }

    private static Runnable borrowAndReturn(Pool<Resource> pool) {
        return () -> pool.borrow().close();
    }

    private static Lease<Resource> borrowInANamedMethod(Pool<Resource> pool) {
        return pool.borrow();
    }

    // ---- failures -----------------------------------------------------------------------------

    @Test
    void aThrowingFactorySurfacesWrappedWithThePoolNameAndLosesNoSlot() {
        Pool<Resource> pool = pool(settings(2));
        this.factory.failing.set(true);
        assertThatThrownBy(pool::borrow).isInstanceOfSatisfying(PoolException.class, (ex) -> {
            assertThat(ex).isNotInstanceOf(PoolExhaustedException.class);
            assertThat(ex.getPoolName()).isEqualTo("test");
            assertThat(ex.getMessage()).contains("'test'").contains("backend down");
            assertThat(ex.getCause()).hasMessage("backend down");
        });
        assertThatThrownBy(pool::borrow).isInstanceOf(PoolException.class);
        PoolStats stats = pool.stats();
        assertThat(stats.size()).isZero();
        assertThat(stats.creationFailures()).isEqualTo(2);
        this.factory.failing.set(false);
        try (Lease<Resource> a = pool.borrow(); Lease<Resource> b = pool.borrow()) {
            assertThat(pool.stats().size()).isEqualTo(2);
        }
    }

    @Test
    void aFactoryReturningNullIsAFailure() {
        Pool<String> pool = Pool.create(PoolSpec.of("nulls", () -> null), settings(1).build());
        this.pools.add(pool);
        assertThatThrownBy(pool::borrow).isInstanceOf(PoolException.class).hasMessageContaining("null");
        assertThat(pool.stats().size()).isZero();
    }

    @Test
    void aFailingFactoryAtStartIsLoggedNotThrown() {
        this.factory.failing.set(true);
        Pool<Resource> pool = pool(settings(2).minIdle(2).housekeepingInterval(Duration.ofMillis(20)));
        assertThat(pool.stats().size()).isZero();
        this.factory.failing.set(false);
        await().atMost(Duration.ofSeconds(3)).until(() -> pool.stats().idle() == 2);
    }

    @Test
    void returningTwiceThrowsAndLeavesThePoolIntact() {
        Pool<Resource> pool = pool(settings(2));
        Lease<Resource> lease = pool.borrow();
        lease.close();
        assertThatIllegalStateException().isThrownBy(lease::close).withMessageContaining("already returned");
        assertThatIllegalStateException().isThrownBy(lease::invalidate);
        PoolStats stats = pool.stats();
        assertThat(stats.size()).isEqualTo(1);
        assertThat(stats.idle()).isEqualTo(1);
        try (Lease<Resource> again = pool.borrow()) {
            assertThat(again.get()).isSameAs(lease.get());
        }
    }

    @Test
    void invalidateDestroysTheObjectAndTheNextBorrowGetsAFreshOne() {
        Pool<Resource> pool = pool(settings(1));
        Lease<Resource> lease = pool.borrow();
        Resource broken = lease.get();
        lease.invalidate();
        assertThat(broken.destroyed).isTrue();
        assertThat(pool.stats().size()).isZero();
        try (Lease<Resource> fresh = pool.borrow()) {
            assertThat(fresh.get()).isNotSameAs(broken);
        }
    }

    @Test
    void invalidateLetsAWaiterCreateAReplacement() throws Exception {
        Pool<Resource> pool = pool(settings(1).borrowTimeout(Duration.ofSeconds(10)));
        Lease<Resource> lease = pool.borrow();
        CompletableFuture<Resource> waiter = CompletableFuture.supplyAsync(() -> {
            try (Lease<Resource> l = pool.borrow()) {
                return l.get();
            }
        }, this.executor);
        await().atMost(Duration.ofSeconds(5)).until(() -> pool.stats().waiting() == 1);
        lease.invalidate();
        assertThat(waiter.get(2, TimeUnit.SECONDS).id).isEqualTo(2);
    }

    @Test
    void anObjectFailingValidationIsDestroyedAndReplaced() {
        PoolSpec<Resource> spec = this.factory.spec("validated").withValidate((r) -> r.id != 1);
        Pool<Resource> pool = pool(spec, settings(1));
        Resource first;
        try (Lease<Resource> lease = pool.borrow()) {
            first = lease.get();
        }
        try (Lease<Resource> lease = pool.borrow()) {
            assertThat(lease.get().id).isEqualTo(2);
        }
        assertThat(first.destroyed).isTrue();
    }

    @Test
    void anObjectWhoseResetThrowsIsDestroyed() {
        PoolSpec<Resource> spec = PoolSpec.of("reset", this.factory::create).withDestroy(this.factory::destroy)
                .withReset((r) -> {
                    throw new IllegalStateException("dirty");
                });
        Pool<Resource> pool = pool(spec, settings(1));
        Lease<Resource> lease = pool.borrow();
        lease.close();
        assertThat(lease.get().destroyed).isTrue();
        assertThat(pool.stats().size()).isZero();
    }

    @Test
    void aThrowingDestroyIsLoggedAndCounted() {
        PoolSpec<Resource> spec = PoolSpec.of("destroy", this.factory::create).withDestroy((r) -> {
            throw new IllegalStateException("cannot close");
        });
        Pool<Resource> pool = pool(spec, settings(1));
        pool.borrow().invalidate();
        assertThat(pool.stats().destroyed()).isEqualTo(1);
        assertThat(pool.stats().size()).isZero();
    }

    @Test
    void anInterruptedWaiterGivesUpWithThePoolNameAndKeepsItsInterrupt() throws Exception {
        Pool<Resource> pool = pool(settings(1).borrowTimeout(Duration.ofSeconds(10)));
        Lease<Resource> held = pool.borrow();
        CountDownLatch done = new CountDownLatch(1);
        Throwable[] failure = new Throwable[1];
        boolean[] interrupted = new boolean[1];
        Thread thread = new Thread(() -> {
            try {
                pool.borrow();
            }
            catch (Throwable ex) {
                failure[0] = ex;
                interrupted[0] = Thread.currentThread().isInterrupted();
            }
            done.countDown();
        });
        thread.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> pool.stats().waiting() == 1);
        thread.interrupt();
        assertThat(done.await(2, TimeUnit.SECONDS)).isTrue();
        assertThat(failure[0]).isInstanceOf(PoolException.class).hasMessageContaining("interrupted");
        assertThat(interrupted[0]).isTrue();
        assertThat(pool.stats().waiting()).isZero();
        held.close();
        assertThat(pool.stats().idle()).isEqualTo(1);
    }

    // ---- close --------------------------------------------------------------------------------

    @Test
    void closeStopsBorrowsDestroysIdleObjectsAndOutstandingOnesOnReturn() {
        Pool<Resource> pool = pool(settings(3).minIdle(2));
        Lease<Resource> outstanding = pool.borrow();
        pool.close();
        assertThatIllegalStateException().isThrownBy(pool::borrow).withMessageContaining("'test' is closed");
        assertThatIllegalStateException().isThrownBy(pool::tryBorrow);
        assertThat(this.factory.live).hasValue(1);
        assertThat(outstanding.get().destroyed).isFalse();
        outstanding.close();
        assertThat(outstanding.get().destroyed).isTrue();
        assertThat(this.factory.live).hasValue(0);
        assertThat(pool.stats().size()).isZero();
        pool.close();
    }

    @Test
    void closeWakesEveryWaiterWithAnException() throws Exception {
        Pool<Resource> pool = pool(settings(1).borrowTimeout(Duration.ofSeconds(30)));
        Lease<Resource> held = pool.borrow();
        List<CompletableFuture<Void>> waiters = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            waiters.add(CompletableFuture.runAsync(pool::borrow, this.executor));
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> pool.stats().waiting() == 3);
        long start = System.nanoTime();
        pool.close();
        for (CompletableFuture<Void> waiter : waiters) {
            assertThatThrownBy(() -> waiter.get(2, TimeUnit.SECONDS)).hasCauseInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed");
        }
        assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(2));
        held.close();
        assertThat(this.factory.live).hasValue(0);
    }

    @Test
    void aDroppedPoolIsNotPinnedByTheThreadLocalsOfThreadsThatBorrowedFromIt() throws Exception {
        Pool<Resource> pool = Pool.create(this.factory.spec("dropped"), settings(2).build());
        pool.borrow().close();
        this.executor.submit(borrowAndReturn(pool)).get(5, TimeUnit.SECONDS);
        WeakReference<Pool<Resource>> reference = new WeakReference<>(pool);
        pool.close();
        pool = null;
        for (int i = 0; i < 100 && reference.get() != null; i++) {
            System.gc();
            Thread.sleep(10);
        }
        assertThat(reference.get()).as("pool still reachable from a thread-local").isNull();
    }

    // ---- stats --------------------------------------------------------------------------------

    @Test
    void statsCountEveryEvent() {
        Pool<Resource> pool = pool(settings(2).overflow(Overflow.FAIL));
        Lease<Resource> a = pool.borrow();
        Lease<Resource> b = pool.borrow();
        assertThatThrownBy(pool::borrow).isInstanceOf(PoolExhaustedException.class);
        a.close();
        b.invalidate();
        PoolStats stats = pool.stats();
        assertThat(stats.name()).isEqualTo("test");
        assertThat(stats.size()).isEqualTo(1);
        assertThat(stats.idle()).isEqualTo(1);
        assertThat(stats.active()).isZero();
        assertThat(stats.waiting()).isZero();
        assertThat(stats.maxSize()).isEqualTo(2);
        assertThat(stats.created()).isEqualTo(2);
        assertThat(stats.destroyed()).isEqualTo(1);
        assertThat(stats.borrows()).isEqualTo(2);
        assertThat(stats.timeouts()).isEqualTo(1);
        assertThat(stats.waitTime().borrows()).isEqualTo(3);
        assertThat(stats.waitTime().count()).as("nobody waited: the third borrow failed at once").isZero();
        assertThat(stats.waitTime().p99Nanos()).isZero();
    }

    @Test
    void waitTimePercentilesReflectRealWaits() throws Exception {
        Pool<Resource> pool = pool(settings(1).borrowTimeout(Duration.ofSeconds(5)));
        for (int i = 0; i < 98; i++) {
            pool.borrow().close();
        }
        Lease<Resource> held = pool.borrow();
        Future<?> waiter = this.executor.submit(() -> pool.borrow().close());
        await().atMost(Duration.ofSeconds(5)).until(() -> pool.stats().waiting() == 1);
        Thread.sleep(100);
        held.close();
        waiter.get(2, TimeUnit.SECONDS);
        WaitTimeStats wait = pool.stats().waitTime();
        assertThat(wait.borrows()).isEqualTo(100);
        assertThat(wait.count()).as("only one borrow waited").isEqualTo(1);
        assertThat(wait.p50Nanos()).isZero();
        assertThat(wait.p99Nanos()).isZero();
        assertThat(wait.maxNanos()).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(100));
        assertThat(wait.totalNanos()).isEqualTo(wait.maxNanos());
    }

    @Test
    void waitTimeBucketsBoundTheirValuesWithinAFifth() {
        for (long value = 1; value > 0 && value < Long.MAX_VALUE / 2; value = value * 3 + 1) {
            long upper = WaitTimeRecorder.upperBoundOf(WaitTimeRecorder.bucketOf(value));
            assertThat(upper).isGreaterThanOrEqualTo(value);
            assertThat((double) upper).isLessThanOrEqualTo(value * 1.25 + 1);
        }
    }

    // ---- spec (the settings have PoolSettingsTests) -------------------------------------------

    @Test
    void poolNamesAreSafeAsTagsAndPathSegments() {
        assertThatIllegalArgumentException().isThrownBy(() -> PoolSpec.of("a/b", Object::new))
                .withMessageContaining("'a/b'");
        assertThatIllegalArgumentException().isThrownBy(() -> PoolSpec.of("", Object::new));
        assertThat(PoolSpec.of("renderers-1.v2_x", Object::new).name()).isEqualTo("renderers-1.v2_x");
    }

    // ---- helpers ------------------------------------------------------------------------------

    /** The housekeeper logs while the test reads, so events go to a concurrent queue. */
    private static final class CapturedLogs extends AppenderBase<ILoggingEvent> {

        final Queue<ILoggingEvent> events = new ConcurrentLinkedQueue<>();

        @Override
        protected void append(ILoggingEvent event) {
            this.events.add(event);
        }
    }

    private static CapturedLogs captureLogs() {
        CapturedLogs appender = new CapturedLogs();
        appender.start();
        ((Logger) LoggerFactory.getLogger(Pool.class)).addAppender(appender);
        return appender;
    }

    private static void releaseLogs(CapturedLogs appender) {
        ((Logger) LoggerFactory.getLogger(Pool.class)).detachAppender(appender);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }
}
