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
