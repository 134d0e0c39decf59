package io.pivotpool.pool;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * A histogram of the borrows that had to wait since the pool started, with 32 buckets per power of
 * two, so that a percentile is within 3.2% of the true value; a percentile is reported as its
 * bucket's upper bound, but never above the longest wait seen. Borrows served at once are never
 * recorded here: the pool knows their number from its borrow counter, so the fast path reads no
 * clock.
 */
final class WaitTimeRecorder {

    private static final int SUB_BUCKET_BITS = 5;

    private static final int SUB_BUCKETS = 1 << SUB_BUCKET_BITS;

    private static final int BUCKETS = 64 * SUB_BUCKETS;

    private final AtomicLongArray buckets = new AtomicLongArray(BUCKETS);

    private final LongAdder count = new LongAdder();

    private final LongAdder totalNanos = new LongAdder();

    private final AtomicLong maxNanos = new AtomicLong();

    /**
     * The buckets as last copied, and the count of waits they were copied at. A snapshot copies
     * the 2,048 buckets again only when a wait was recorded since: a pool's stats are read every
     * round (its demand) and on every scrape or status read, and most rounds of a healthy pool see
     * no new wait. A bucket incremented just before its count is picked up at the next wait, the
     * same moment a fresh copy would be inconsistent in.
     */
    private volatile Copy lastCopy = new Copy(0, new long[BUCKETS]);

    private record Copy(long waited, long[] counts) {
    }

    void record(long nanos) {
        long value = Math.max(1, nanos);
        this.buckets.incrementAndGet(bucketOf(value));
        this.count.increment();
        this.totalNanos.add(value);
        this.maxNanos.accumulateAndGet(value, Math::max);
    }

    /**
     * @param outcomes all borrows and timeouts; those not recorded here count as waits of 0
     */
    WaitTimeStats snapshot(long outcomes) {
        long waited = this.count.sum();
        Copy copy = this.lastCopy;
        if (copy.waited() != waited) {
            long[] fresh = new long[BUCKETS];
            for (int i = 0; i < BUCKETS; i++) {
                fresh[i] = this.buckets.get(i);
            }
            copy = new Copy(waited, fresh);
            this.lastCopy = copy;
        }
        long[] counts = copy.counts();
        long total = Math.max(outcomes, waited);
        long zeros = total - waited;
        long max = this.maxNanos.get();
        return new WaitTimeStats(total, waited, this.totalNanos.sum(), max,
                Math.min(max, percentile(counts, zeros, total, 0.50)),
                Math.min(max, percentile(counts, zeros, total, 0.95)),
                Math.min(max, percentile(counts, zeros, total, 0.99)));
    }

    private static long percentile(long[] counts, long zeros, long total, double quantile) {
        if (total == 0) {
            return 0;
        }
        long rank = (long) Math.ceil(quantile * total);
        if (rank <= zeros) {
            return 0;
        }
        long seen = zeros;
        for (int i = 0; i < counts.length; i++) {
            seen += counts[i];
            if (seen >= rank) {
                return upperBoundOf(i);
            }
        }
        return upperBoundOf(counts.length - 1);
    }

    static int bucketOf(long nanos) {
        int exponent = 63 - Long.numberOfLeadingZeros(nanos);
        if (exponent < SUB_BUCKET_BITS) {
            return (int) nanos;
        }
        int sub = (int) ((nanos >>> (exponent - SUB_BUCKET_BITS)) & (SUB_BUCKETS - 1));
        return (exponent - SUB_BUCKET_BITS + 1) * SUB_BUCKETS + sub;
    }

    static long upperBoundOf(int bucket) {
        if (bucket < SUB_BUCKETS) {
            return bucket;
        }
        int exponent = bucket / SUB_BUCKETS + SUB_BUCKET_BITS - 1;
        int sub = bucket % SUB_BUCKETS;
        long base = 1L << exponent;
        long step = 1L << (exponent - SUB_BUCKET_BITS);
        long upper = base + (sub + 1) * step - 1;
        return (upper < 0) ? Long.MAX_VALUE : upper;
    }
}
