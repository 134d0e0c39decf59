package io.pivotpool.pool;

import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

class PoolWaitTimeTests {

    @Test
    void percentilesAreNeverAboveTheLongestWaitAndCloseToTheTruth() {
        SplittableRandom random = new SplittableRandom(3);
        for (int round = 0; round < 200; round++) {
            WaitTimeRecorder recorder = new WaitTimeRecorder();
            int n = 1 + random.nextInt(300);
            long[] waits = new long[n];
            for (int i = 0; i < n; i++) {
                waits[i] = 1 + random.nextLong(2_000_000_000L);
                recorder.record(waits[i]);
            }
            java.util.Arrays.sort(waits);
            WaitTimeStats stats = recorder.snapshot(n);
            assertThat(stats.maxNanos()).isEqualTo(waits[n - 1]);
            for (double q : new double[] { 0.50, 0.95, 0.99 }) {
                long reported = (q == 0.50) ? stats.p50Nanos() : (q == 0.95) ? stats.p95Nanos() : stats.p99Nanos();
                long truth = waits[(int) Math.ceil(q * n) - 1];
                assertThat(reported).as("p%s of %s waits", q, n).isLessThanOrEqualTo(stats.maxNanos())
                    .isBetween(truth, (long) Math.ceil(truth * 1.032) + 1);
            }
        }
    }

    @Test
    void snapshotsTakenBetweenWaitsSeeEveryWaitAndEveryBorrowServedAtOnce() {
        WaitTimeRecorder recorder = new WaitTimeRecorder();
        assertThat(recorder.snapshot(10).p99Nanos()).isZero();
        recorder.record(5_000_000);
        assertThat(recorder.snapshot(1).p50Nanos()).isBetween(5_000_000L, 5_160_000L);
        // No new wait, more borrows served at once: the same buckets, more zeros.
        assertThat(recorder.snapshot(100).p99Nanos()).isZero();
        for (int i = 0; i < 99; i++) {
            recorder.record(1_000);
        }
        // A snapshot that kept the first copy of the buckets would put p50 at the 5 ms wait.
        WaitTimeStats more = recorder.snapshot(100);
        assertThat(more.count()).isEqualTo(100);
        assertThat(more.p50Nanos()).isBetween(1_000L, 1_032L);
        assertThat(more.p99Nanos()).isBetween(1_000L, 1_032L);
        // 900 served at once, then the 99 waits of 1 µs (ranks 901 to 999), then the 5 ms one.
        WaitTimeStats diluted = recorder.snapshot(1_000);
        assertThat(diluted.p50Nanos()).isZero();
        assertThat(diluted.p95Nanos()).isBetween(1_000L, 1_032L);
        assertThat(diluted.maxNanos()).isEqualTo(5_000_000L);
    }

    @Test
    void theWaitListenerHearsOfEveryWaitAndOfNothingServedAtOnce() throws Exception {
        List<Long> waits = new CopyOnWriteArrayList<>();
        try (Pool<Object> pool = Pool.create(PoolSpec.of("waits", Object::new),
                PoolSettings.DEFAULTS.toBuilder().maxSize(1).borrowTimeout(Duration.ofMillis(30)).build())) {
            pool.setWaitListener(waits::add);
            pool.borrow().close();
            assertThat(waits).as("served at once").isEmpty();
            Lease<Object> held = pool.borrow();
            assertThatExceptionOfType(PoolExhaustedException.class).isThrownBy(pool::borrow);
            assertThat(waits).singleElement().satisfies((nanos) -> assertThat(nanos)
                .isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(25)));
            CountDownLatch waiting = new CountDownLatch(1);
            Thread borrower = new Thread(() -> {
                waiting.countDown();
                pool.borrow(Duration.ofSeconds(5)).close();
            });
            borrower.start();
            waiting.await();
            Thread.sleep(20);
            held.close();
            borrower.join(5000);
            assertThat(waits).hasSize(2);
            pool.setWaitListener((nanos) -> {
                throw new IllegalStateException("a broken listener");
            });
            Lease<Object> again = pool.borrow();
            Thread other = new Thread(() -> pool.borrow(Duration.ofSeconds(5)).close());
            other.start();
            Thread.sleep(20);
            again.close();
            other.join(5000);
            assertThat(pool.stats().borrows()).as("a failing listener fails no borrow").isEqualTo(5);
        }
    }
}
