package io.pivotpool.pool;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledForJreRange;
import org.junit.jupiter.api.condition.JRE;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Many threads hammer small pools while the pool's promises are checked: no object is held by two
 * borrowers at once, the size limit holds (except for the configured overflow), accounting is
 * exact once the threads stop, and timeouts are honoured.
 */
@Tag("slow")
class PoolStressTests {

    private static final Duration RUN_TIME = Duration.ofMillis(1500);

    @Test
    void platformThreadsNeverShareAnObjectAndNeverExceedMaxSize() throws Exception {
        hammer(Executors.newFixedThreadPool(16), 16, settings(3, Overflow.WAIT), 3);
    }

    @Test
    void elasticPoolStaysWithinItsEmergencyLimit() throws Exception {
        hammer(Executors.newFixedThreadPool(12), 12, settings(2, Overflow.ELASTIC).emergencyLimit(5), 5);
    }

    @Test
    void failingFastPoolKeepsExactAccounting() throws Exception {
        hammer(Executors.newFixedThreadPool(8), 8, settings(2, Overflow.FAIL), 2);
    }

    @Test
    @EnabledForJreRange(min = JRE.JAVA_21, disabledReason = "virtual threads need Java 21; CI runs on 25")
    void virtualThreadsNeverShareAnObjectAndNeverExceedMaxSize() throws Exception {
        ExecutorService virtual = (ExecutorService) Executors.class
                .getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
        hammer(virtual, 1000, settings(4, Overflow.WAIT), 4);
    }

    @Test
    void resizingUnderLoadNeverLosesOrDuplicatesAnObject() throws Exception {
        Factory factory = new Factory();
        Pool<Resource> pool = Pool.create(factory.spec("resized"),
                settings(4, Overflow.WAIT).borrowTimeout(Duration.ofSeconds(5)).build());
        ExecutorService executor = Executors.newFixedThreadPool(8);
        AtomicInteger violations = new AtomicInteger();
        long end = System.nanoTime() + RUN_TIME.toNanos();
        List<Future<?>> workers = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            workers.add(executor.submit(() -> {
                while (System.nanoTime() < end) {
                    useOnce(pool, violations, true);
                }
                return null;
            }));
        }
        while (System.nanoTime() < end) {
            pool.setMaxSize(1 + ThreadLocalRandom.current().nextInt(6));
            Thread.sleep(5);
        }
        pool.setMaxSize(4);
        for (Future<?> worker : workers) {
            worker.get(30, TimeUnit.SECONDS);
        }
        executor.shutdown();
        assertThat(violations).hasValue(0);
        assertQuiescentAccounting(pool, factory);
        pool.close();
        assertThat(factory.live).hasValue(0);
    }

    @Test
    void closeUnderLoadDestroysEveryObjectAndNoBorrowSucceedsAfterIt() throws Exception {
        for (int round = 0; round < 20; round++) {
            Factory factory = new Factory();
            Pool<Resource> pool = Pool.create(factory.spec("closing"), settings(4, Overflow.WAIT).build());
            ExecutorService executor = Executors.newFixedThreadPool(6);
            AtomicInteger violations = new AtomicInteger();
            java.util.concurrent.atomic.AtomicBoolean closeReturned = new java.util.concurrent.atomic.AtomicBoolean();
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                workers.add(executor.submit(() -> {
                    for (;;) {
                        boolean closedBefore = closeReturned.get();
                        Lease<Resource> lease;
                        try {
                            lease = pool.borrow();
                        }
                        catch (IllegalStateException | PoolExhaustedException ex) {
                            return null;
                        }
                        if (closedBefore) {
                            violations.incrementAndGet();
                        }
                        lease.close();
                    }
                }));
            }
            Thread.sleep(5 + round % 7);
            pool.close();
            closeReturned.set(true);
            for (Future<?> worker : workers) {
                worker.get(10, TimeUnit.SECONDS);
            }
            executor.shutdown();
            assertThat(violations).as("borrows that began after close() returned and succeeded").hasValue(0);
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(2)).untilAsserted(
                    () -> assertThat(factory.live).as("objects still alive after close").hasValue(0));
            assertThat(pool.stats().size()).isZero();
        }
    }

    @Test
    void timeoutsAreHonouredUnderContention() throws Exception {
        Pool<Resource> pool = Pool.create(new Factory().spec("timeouts"), settings(1, Overflow.WAIT).build());
        Lease<Resource> held = pool.borrow();
        ExecutorService executor = Executors.newFixedThreadPool(8);
        List<Future<Long>> waits = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            waits.add(executor.submit(() -> {
                long start = System.nanoTime();
                try {
                    pool.borrow(Duration.ofMillis(150)).close();
                    return -1L;
                }
                catch (PoolExhaustedException ex) {
                    return System.nanoTime() - start;
                }
            }));
        }
        for (Future<Long> wait : waits) {
            assertThat(wait.get(5, TimeUnit.SECONDS)).isBetween(TimeUnit.MILLISECONDS.toNanos(150),
                    TimeUnit.MILLISECONDS.toNanos(1000));
        }
        executor.shutdown();
        held.close();
        assertThat(pool.stats().timeouts()).isEqualTo(8);
        assertThat(pool.stats().waiting()).isZero();
        pool.close();
    }

    @Test
    void borrowAndReturnAllocateNothing() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory
                .getThreadMXBean();
        Pool<Resource> pool = Pool.create(new Factory().spec("alloc"), settings(10, Overflow.WAIT).build());
        for (int i = 0; i < 200_000; i++) {
            pool.borrow().close();
        }
        long threadId = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(threadId);
        int iterations = 1_000_000;
        for (int i = 0; i < iterations; i++) {
            try (Lease<Resource> lease = pool.borrow()) {
                lease.get();
            }
        }
        long allocated = threads.getThreadAllocatedBytes(threadId) - before;
        pool.close();
        // A single allocation per borrow would be at least 16 MB here; allow for the probe's own bytes.
        assertThat(allocated).as("bytes allocated by %d borrow/return cycles", iterations).isLessThan(4096);
    }

    @Test
    void thePoolEngineTakesNoMonitor() throws Exception {
        Path sources = Path.of("src/main/java/io/pivotpool/pool");
        assertThat(sources).isDirectory();
        try (Stream<Path> files = Files.list(sources)) {
            List<Path> javaFiles = files.filter((file) -> file.toString().endsWith(".java")).toList();
            assertThat(javaFiles).isNotEmpty();
            for (Path file : javaFiles) {
                assertThat(Files.readString(file)).as("%s must not use synchronized (virtual threads would pin)", file)
                        .doesNotContainPattern("\\bsynchronized\\b");
            }
        }
    }

    private static PoolSettings.Builder settings(int maxSize, Overflow overflow) {
        return PoolSettings.builder().maxSize(maxSize).overflow(overflow).borrowTimeout(Duration.ofSeconds(10));
    }

    private static void hammer(ExecutorService executor, int threads, PoolSettings.Builder settings, int ceiling)
            throws Exception {
        Factory factory = new Factory();
        Pool<Resource> pool = Pool.create(factory.spec("stress"), settings.build());
        AtomicInteger violations = new AtomicInteger();
        AtomicLong borrows = new AtomicLong();
        long end = System.nanoTime() + RUN_TIME.toNanos();
        List<Future<?>> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            workers.add(executor.submit(() -> {
                while (System.nanoTime() < end) {
                    if (useOnce(pool, violations, false)) {
                        borrows.incrementAndGet();
                    }
                    if (factory.live.get() > ceiling) {
                        violations.incrementAndGet();
                    }
                }
                return null;
            }));
        }
        for (Future<?> worker : workers) {
            worker.get(60, TimeUnit.SECONDS);
        }
        executor.shutdown();
        assertThat(violations).as("objects held twice or live objects above %d", ceiling).hasValue(0);
        assertThat(factory.maxLive.get()).isLessThanOrEqualTo(ceiling);
        assertThat(borrows.get()).isPositive();
        assertThat(pool.stats().borrows()).isEqualTo(borrows.get());
        assertQuiescentAccounting(pool, factory);
        pool.close();
        assertThat(factory.live).hasValue(0);
        assertThat(factory.all).allSatisfy((resource) -> assertThat(resource.destroyed).isTrue());
    }

    /** Borrows, checks exclusive use, sometimes invalidates; false when the pool said no. */
    private static boolean useOnce(Pool<Resource> pool, AtomicInteger violations, boolean mayInvalidate) {
        Lease<Resource> lease;
        try {
            lease = pool.borrow();
        }
        catch (PoolExhaustedException ex) {
            return false;
        }
        Resource resource = lease.get();
        if (resource.destroyed || !resource.holder.compareAndSet(null, Thread.currentThread())) {
            violations.incrementAndGet();
        }
        if (ThreadLocalRandom.current().nextInt(4) == 0) {
            Thread.yield();
        }
        if (!resource.holder.compareAndSet(Thread.currentThread(), null)) {
            violations.incrementAndGet();
        }
        if (mayInvalidate && ThreadLocalRandom.current().nextInt(50) == 0) {
            lease.invalidate();
        }
        else {
            lease.close();
        }
        return true;
    }

    private static void assertQuiescentAccounting(Pool<Resource> pool, Factory factory) {
        PoolStats stats = pool.stats();
        assertThat(stats.active()).isZero();
        assertThat(stats.waiting()).isZero();
        assertThat(stats.idle()).isEqualTo(stats.size());
        assertThat(stats.created() - stats.destroyed()).isEqualTo(stats.size());
        assertThat(factory.live.get()).isEqualTo(stats.size());
        assertThat(stats.size()).isLessThanOrEqualTo(stats.maxSize());
    }
}
