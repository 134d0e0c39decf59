package io.pivotpool.pool;

/**
 * A borrowed object. Closing the lease returns the object to its pool; {@link #invalidate()}
 * destroys it instead. A lease must be closed exactly once, by any thread.
 *
 * <p>Leases are recycled with their objects, so a lease must not be used after it was closed:
 * a second {@code close()} is detected and rejected while the object is idle, but once another
 * borrower holds the same object the stale handle cannot be told apart from the new one.
 *
 * @param <T> the pooled type
 */
public interface Lease<T> extends AutoCloseable {

    /** The borrowed object. */
    T get();

    /**
     * Destroys the object instead of returning it, for an object found broken while borrowed. The
     * pool creates a replacement when needed.
     *
     * @throws IllegalStateException if the lease was already closed or invalidated
     */
    void invalidate();

    /**
     * Returns the object to the pool.
     *
     * @throws IllegalStateException if the lease was already closed or invalidated
     */
    @Override
    void close();
}
