package io.pivotpool.pool;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

import org.jspecify.annotations.Nullable;

/**
 * A borrower parked in the FIFO queue of an exhausted pool. A returning thread grants it a slot
 * directly, so the slot never becomes idle where a newcomer could barge ahead of the queue.
 * Exactly one of {@link #grant} and {@link #cancel} wins.
 */
final class Waiter<T> {

    private static final int WAITING = 0;

    private static final int GRANTED = 1;

    private static final int CANCELLED = 2;

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Waiter.class, "state", int.class);
        }
        catch (ReflectiveOperationException ex) {
            throw new ExceptionInInitializerError(ex);
        }
    }

    final Thread thread;

    private volatile int state;

    /** Written before the GRANTED transition, so a waiter that sees GRANTED sees its slot. */
    private volatile @Nullable Slot<T> slot;

    Waiter(Thread thread) {
        this.thread = thread;
    }

    /*
     * Only the thread that polled this waiter off the queue calls grant, so no two grants race to
     * write the slot field.
     */
    boolean grant(Slot<T> slot) {
        this.slot = slot;
        if (STATE.compareAndSet(this, WAITING, GRANTED)) {
            LockSupport.unpark(this.thread);
            return true;
        }
        this.slot = null;
        return false;
    }

    /** @return true if the waiter gave up before any grant; false if it holds a granted slot */
    boolean cancel() {
        return STATE.compareAndSet(this, WAITING, CANCELLED);
    }

    boolean isGranted() {
        return this.state == GRANTED;
    }

    boolean isCancelled() {
        return this.state == CANCELLED;
    }

    /** The slot granted: only once {@link #isGranted} says so, or {@link #cancel} failed (it was granted first). */
    Slot<T> grantedSlot() {
        Slot<T> slot = this.slot;
        if (slot == null) {
            throw new IllegalStateException("no slot was granted to this waiter");
        }
        return slot;
    }
}
