package io.pivotpool.pool;

/**
 * How long borrows waited since the pool started, from a fixed-bucket histogram: borrows served at
 * once count as zero waits without reading the clock, so the recorder costs nothing on the fast
 * path. Percentiles are within 3.2% of the true value and never above {@code maxNanos}.
 *
 * <p>{@code count} means what the {@code pivot.pool.wait} timer counts: the borrows that found no
 * free object and waited, served or timed out. The percentiles are over every borrow
 * ({@code borrows}), those served at once counting as waits of zero.
 *
 * @param borrows borrows measured (served or timed out), which the percentiles are over
 * @param count borrows that waited (served or timed out), as the {@code pivot.pool.wait} timer counts
 * @param totalNanos sum of all waits
 * @param maxNanos the longest wait
 * @param p50Nanos median wait over every borrow, as the upper bound of its histogram bucket (at most the max)
 * @param p95Nanos 95th percentile wait, likewise
 * @param p99Nanos 99th percentile wait, likewise
 */
public record WaitTimeStats(long borrows, long count, long totalNanos, long maxNanos, long p50Nanos, long p95Nanos,
        long p99Nanos) {
}
