package io.pivotpool.pool;

import java.time.Duration;

import org.jspecify.annotations.Nullable;

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
     * (a failing factory, even one that throws an {@link Error}, is logged and retried by the
     * housekeeper, not thrown; the objects it did create stay in the pool).
     */
    static <T> Pool<T> create(PoolSpec<T> spec, PoolSettings settings) {
        return new LocalPool<>(spec, settings);
    }

    /**
     * Like {@link #create(PoolSpec, PoolSettings)}, but the size limit starts at
     * {@code initialMaxSize} instead of the settings' max-size, and min-idle is filled only within
     * it: for a pool whose limit something else governs from the start, such as its share of a
     * cluster-wide cap, so that it never holds more than that share, not even while it starts.
     *
     * @throws IllegalArgumentException if {@code initialMaxSize} is negative or above max-size
     */
    static <T> Pool<T> create(PoolSpec<T> spec, PoolSettings settings, int initialMaxSize) {
        return new LocalPool<>(spec, settings, initialMaxSize);
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
    @Nullable Lease<T> tryBorrow();

    /** The current size limit (the local share of a cluster-wide capacity when coordinated). */
    int maxSize();

    /**
     * Changes the size limit at run time; the change is atomic with every creation, so:
     * <ul>
     * <li>Once this returns, no borrow creates an object that takes {@link PoolStats#size()} above
     * {@code maxSize} (with {@link Overflow#ELASTIC}: above the emergency limit scaled to
     * {@code maxSize}), and while the size is above {@code maxSize} no object is created at all.
     * Hand-offs and idle objects never raise the size.
     * <li>Growing takes effect at once: a borrow that starts after this returns creates an object
     * when the size is below the new limit, and waiting borrowers are woken to do so.
     * <li>Shrinking never takes a borrowed object away. Before returning, this call destroys idle
     * objects until the pool fits or none is idle; from then on every object returned while the
     * pool is above the limit is destroyed instead of kept or handed to a waiter, and a borrow
     * never gets an object above the limit: an object returned at the same instant as the shrink
     * may still be put back idle, but a borrower that claims it destroys it instead of using it,
     * and otherwise a second sweep about 10 ms later (at the latest the next housekeeping tick)
     * does. The one exception: a return that had checked the limit just before the shrink may
     * still hand its object to a borrower that was already waiting; the size does not grow, and
     * that object is destroyed when it comes back.
     * <li>Objects count until their destroy callback has returned, so once
     * {@code stats().size() <= maxSize} has been seen, at most {@code maxSize} objects are alive,
     * and (without {@link Overflow#ELASTIC}) the pool stays at or below {@code maxSize} until the
     * limit is raised again. {@link Overflow#FALLBACK} objects are not pooled and not counted.
     * </ul>
     *
     * @param maxSize the new limit, from 0 (no objects at all) to {@link PoolSettings#LARGEST_MAX_SIZE}
     * @throws IllegalArgumentException if {@code maxSize} is out of that range
     */
    void setMaxSize(int maxSize);

    /**
     * Tells {@code listener} how long each borrow that had to wait waited (successful or timed
     * out), on the borrowing thread, once its wait is over; borrows served at once are not
     * reported, so the fast path pays nothing. A metrics library records these in a timer of its
     * own. Replaces the previous listener; {@code null} removes it.
     */
    void setWaitListener(@Nullable WaitListener listener);

    /** Told of each wait for an object: see {@link Pool#setWaitListener}. */
    @FunctionalInterface
    interface WaitListener {

        /** A borrow waited {@code nanos} for an object (whether it got one or gave up). */
        void waited(long nanos);
    }

    /** A consistent-enough snapshot of sizes and counters; cheap, but not meant for the hot path. */
    PoolStats stats();

    /** The settings this pool was created with (the size limit may since have changed). */
    PoolSettings settings();

    /**
     * Stops new borrows, destroys idle objects, destroys borrowed ones as they come back and wakes
     * every waiter with an exception. Idempotent.
     *
     * <p>Borrows in flight: a borrow succeeds only if, after it obtained and checked its object,
     * it still saw the pool open; a borrow that obtains its object (idle, created or handed over)
     * after close began gives it up and throws {@link IllegalStateException}. So every successful
     * borrow took its object before close began, and no borrow that starts after close returned
     * succeeds; close does not wait for borrows in flight, and one that had already taken its
     * object may return its lease after close returned (that object is destroyed when returned).
     *
     * <p>Every step is taken even if a destroy callback throws, {@link Error}s included: waiters
     * are woken, every idle object is destroyed and the housekeeper stops once no object is left;
     * then the first such failure is thrown, later ones {@linkplain Throwable#getSuppressed()
     * suppressed} in it. A second call does nothing.
     */
    @Override
    void close();
}
