package io.pivotpool.pool;

/**
 * A snapshot of one pool. Sizes are read without stopping borrowers, so under load they are each
 * exact at some instant but not necessarily the same instant.
 *
 * @param name the pool's name
 * @param size pooled objects counted against max-size: idle and active ones, those being created, and
 *     those being destroyed until their destroy callback has returned (so {@code size - idle - active}
 *     are in creation or destruction); overflow objects of {@link Overflow#ELASTIC} included, of
 *     {@link Overflow#FALLBACK} not. Never more objects are alive than this counts, so a size seen at
 *     or below a limit set with {@link Pool#setMaxSize(int)} means that many objects at most
 * @param idle objects ready to be borrowed
 * @param active objects borrowed now (pooled ones)
 * @param waiting borrowers waiting for an object
 * @param maxSize the current size limit
 * @param created objects created since start (pooled, elastic and fallback)
 * @param destroyed objects whose destroy callback has returned, since start
 * @param borrows successful borrows since start; never less than in an earlier snapshot (a borrow of
 *     a {@link Overflow#FALLBACK} object is counted when it is returned)
 * @param timeouts borrows that gave up with {@link PoolExhaustedException}
 * @param overflowCreated objects created beyond max-size by {@link Overflow#ELASTIC} or
 *     {@link Overflow#FALLBACK}
 * @param creationFailures factory calls that threw
 * @param leaks leases reported as held past the leak detection threshold
 * @param waitTime how long borrows waited for an object
 */
public record PoolStats(String name, int size, int idle, int active, int waiting, int maxSize, long created,
        long destroyed, long borrows, long timeouts, long overflowCreated, long creationFailures, long leaks,
        WaitTimeStats waitTime) {
}
