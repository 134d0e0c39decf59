package io.pivotpool.pool;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/*
 * A slot is one pooled object, its state and its lease at once: borrowing hands out the slot
 * itself, so the borrow/return cycle allocates nothing. The state word and the borrow counter are
 * the only fields written on the hot path; they sit between two 64-byte pads (in superclasses,
 * since HotSpot lays out superclass fields first and does not reorder across classes) so that two
 * threads working on neighbouring slots do not share a cache line.
 */
abstract class SlotPadBefore {

    long p00, p01, p02, p03, p04, p05, p06, p07;
}

abstract class SlotHotFields extends SlotPadBefore {

    static final int IDLE = 0;

    static final int CLAIMED = 1;

    /** Held by the housekeeper, a shrink or close while it decides to destroy the object. */
    static final int RESERVED = 2;

    static final int DEAD = 3;

    volatile int state;

    /** Written only by the claimer (the claim CAS orders it), read racily by stats. */
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

    volatile Throwable borrowSite;

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
     * A release store is enough to publish the object's state to the next claimer, whose CAS reads
     * it with acquire semantics. There is deliberately no StoreLoad fence here: a borrower that
     * starts waiting at the same instant may miss this slot, and waiters rescan on a short,
     * growing timer to pick it up (see PoolEngine.await).
     */
    void setIdle() {
        STATE.setRelease(this, IDLE);
    }

    void setDead() {
        STATE.setVolatile(this, DEAD);
    }

    void countBorrow() {
        this.borrows++;
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
