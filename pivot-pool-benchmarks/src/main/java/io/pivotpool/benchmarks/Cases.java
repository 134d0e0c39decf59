package io.pivotpool.benchmarks;

/**
 * What every peer's benchmark class shares, so that the peers are measured under the same rules.
 * The run lengths here are the defaults of a plain {@code java -jar target/benchmarks.jar}; the
 * command line overrides them for quick smoke runs.
 */
final class Cases {

    /** Objects in the pool of the borrow/return cases. */
    static final int POOL_SIZE = 10;

    /** Long enough never to expire in a working pool: a timeout fails the trial instead. */
    static final long BORROW_TIMEOUT_MILLIS = 60_000;

    static final int FORKS = 2;

    static final int WARMUP_ITERATIONS = 3;

    static final int MEASUREMENT_ITERATIONS = 5;

    private Cases() {
    }

    /** A failed check aborts the trial with its message: JMH then reports the benchmark as failed. */
    static void check(boolean condition, String message) {
        if (!condition) {
            throw new IllegalStateException(message);
        }
    }
}
