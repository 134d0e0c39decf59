package io.pivotpool.pool;

import org.jspecify.annotations.Nullable;

/**
 * Per-thread memory of the slot this thread used last, so that a thread that borrows and returns
 * repeatedly finds its object again with one CAS and no scan. Allocated once per thread and pool.
 */
final class SlotCache<T> {

    @Nullable Slot<T> slot;

    /** Where this thread's scans start, so that threads spread over the slot array. */
    int scanStart;

    SlotCache() {
        this.scanStart = System.identityHashCode(Thread.currentThread()) & Integer.MAX_VALUE;
    }
}
