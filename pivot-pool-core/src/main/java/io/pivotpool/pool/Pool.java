package io.pivotpool.pool;

import java.time.Duration;

/**
 * A pool of reusable objects.
 *
 * <pre>{@code
 * try (Lease<Renderer> lease = pool.borrow()) {
 *     lease.get().render(page);
 * }
 * }</pre>
 *
 * <p>Borrowing and returning never take a monitor and never touch the network, and a thread that
 * borrows repeatedly allocates nothing: the lease is the pooled slot itself, and each thread
 * remembers the slot it used last. Objects are created on the slow path by the borrowing thread,
 * and evicted, replenished and checked for leaks by a background housekeeper. Two settings trade
 * that for diagnostics: leak detection records a stack trace per borrow, and max-lifetime checked
 * on borrow reads the clock. A virtual thread that borrows once and ends allocates its small
 * per-thread cache entry, like any thread-local.
 *
 * @param <T> the pooled type
 */
public interface Pool<T> extends AutoCloseable {

    /**
     * Creates and starts a pool: {@code minIdle} objects are created before this returns
     * (a failing factory is logged and retried by the housekeeper, not thrown).
     */
    static <T> Pool<T> create(PoolSpec<T> spec, PoolSettings settings) {
        return new LocalPool<>(spec, settings);
    }

    /** The name that identifies this pool in logs, exceptions, metrics and the actuator endpoint. */
    String name();

    /**
     * Borrows an object, waiting at most the configured borrow timeout when the pool is exhausted
     * and the overflow strategy is {@link Overflow#WAIT}.
     *
     * @throws PoolExhaustedException if no object became available in time
     * @throws PoolException if creating an object failed or the wait was interrupted
     * @throws IllegalStateException if the pool is closed
     */
    Lease<T> borrow();

    /** Like {@link #borrow()} with an explicit timeout; {@link Duration#ZERO} never waits. */
    Lease<T> borrow(Duration timeout);

    /**
     * Borrows an object only if one is available without waiting (an idle one, a new one within the
     * size limits, or the overflow strategy's object); returns {@code null} instead of waiting or
     * throwing {@link PoolExhaustedException}.
     */
    Lease<T> tryBorrow();

    /** The current size limit (the local share of a cluster-wide capacity when coordinated). */
    int maxSize();

    /**
     * Changes the size limit at run time. Growing takes effect at once; shrinking destroys idle
     * objects and then returned ones until the pool fits, and never touches a borrowed object.
     */
    void setMaxSize(int maxSize);

    /** A consistent-enough snapshot of sizes and counters; cheap, but not meant for the hot path. */
    PoolStats stats();

    /** The settings this pool was created with (the size limit may since have changed). */
    PoolSettings settings();

    /**
     * Stops new borrows, destroys idle objects, destroys borrowed ones as they come back and wakes
     * every waiter with an exception. Idempotent.
     */
    @Override
    void close();
}
