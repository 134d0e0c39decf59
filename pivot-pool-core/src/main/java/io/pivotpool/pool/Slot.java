package io.pivotpool.pool;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import org.jspecify.annotations.Nullable;

/*
 * A slot is one pooled object, its state and its lease at once: borrowing hands out the slot
 * itself, so the borrow/return cycle allocates nothing. The state word and the borrow counter are
 * the only fields written on the hot path; they sit between two 64-byte pads (in superclasses,
 * since HotSpot lays out superclass fields first and does not reorder across classes) so that two
 * threads working on neighbouring slots do not share a cache line.
 */
abstract class SlotPadBefore {

    // With compressed class pointers the header leaves a 4-byte gap that HotSpot (JDK 15+) would
    // fill with the subclass's int state, before the pad; this int takes the gap (checked with JOL).
    int p0;

    long p00, p01, p02, p03, p04, p05, p06, p07;
}

abstract class SlotHotFields extends SlotPadBefore {

    // CLAIMED is the zero value so that a slot seen before its constructor's store can never be
    // claimed: even a racy publication would show it as taken, not as idle.
    static final int CLAIMED = 0;

    static final int IDLE = 1;

    /** Held by the housekeeper, a shrink or close while it decides to destroy the object. */
    static final int RESERVED = 2;

    static final int DEAD = 3;

    volatile int state;

    /** Written only by the claimer (the claim CAS orders it), read by stats with opaque reads. */
    long borrows;
}

abstract class SlotPadAfter extends SlotHotFields {

    long p10, p11, p12, p13, p14, p15, p16, p17;
}

final class Slot<T> extends SlotPadAfter implements Lease<T> {

    private static final VarHandle STATE;

    private static final VarHandle BORROWS;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            STATE = lookup.findVarHandle(SlotHotFields.class, "state", int.class);
            BORROWS = lookup.findVarHandle(SlotHotFields.class, "borrows", long.class);
        }
        catch (ReflectiveOperationException ex) {
            throw new ExceptionInInitializerError(ex);
        }
    }

    final PoolEngine<T> pool;

    final T object;

    final long createdAtNanos;

    /** An object handed out by {@link Overflow#FALLBACK}: never pooled, destroyed on return. */
    final boolean unpooled;

    /** Set by the housekeeper for a borrowed object past max-lifetime: destroy it on return. */
    volatile boolean retire;

    // Leak detection only (written by the claimer when the threshold is set, read by the housekeeper).
    volatile long borrowedAtNanos;

    volatile @Nullable Throwable borrowSite;

    volatile boolean leakReported;

    // Idle tracking, touched by the housekeeper thread only.
    long borrowsSeenByHousekeeper = -1;

    int idleTicks;

    Slot(PoolEngine<T> pool, T object, int initialState, boolean unpooled) {
        this.pool = pool;
        this.object = object;
        this.unpooled = unpooled;
        this.createdAtNanos = System.nanoTime();
        STATE.setRelease(this, initialState);
    }

    boolean tryClaim() {
        return this.state == IDLE && STATE.compareAndSet(this, IDLE, CLAIMED);
    }

    boolean tryReserve() {
        return this.state == IDLE && STATE.compareAndSet(this, IDLE, RESERVED);
    }

    /*
     * The hot path's return: a release store publishes the object's state to the next claimer,
     * whose CAS reads it with acquire semantics. There is deliberately no StoreLoad fence (it would
     * cost about as much as the rest of the cycle): a waiter or a close that starts at the same
     * instant may miss this slot; waiters rescan on a short timer and close leaves a reaper
     * running, so either finds it moments later (see WaitQueue.await and PoolEngine.close).
     */
    void setIdle() {
        STATE.setRelease(this, IDLE);
    }

    /** The slow path's return: a full fence, so the reads that follow pair with a waiter or close. */
    void setIdleFenced() {
        STATE.setVolatile(this, IDLE);
    }

    void setDead() {
        STATE.setVolatile(this, DEAD);
    }

    void countBorrow() {
        BORROWS.setOpaque(this, this.borrows + 1);
    }

    long borrowCount() {
        return (long) BORROWS.getOpaque(this);
    }

    @Override
    public T get() {
        return this.object;
    }

    @Override
    public void close() {
        this.pool.release(this);
    }

    @Override
    public void invalidate() {
        this.pool.invalidate(this);
    }

    @Override
    public String toString() {
        return "Lease[" + this.pool.name() + ", " + this.object + "]";
    }
}
