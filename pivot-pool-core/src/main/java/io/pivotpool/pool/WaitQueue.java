package io.pivotpool.pool;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The borrowers of an exhausted {@link PoolEngine}: their FIFO queue of {@link Waiter}s, the wait
 * loop, the hand-off of a returned slot to the longest waiter, and the wait-time record. The
 * number of waiters lives in the engine's attention word, not here, so that a return on the hot
 * path learns whether anybody waits from the one field it reads anyway.
 */
final class WaitQueue<T> {

    private static final Logger logger = LoggerFactory.getLogger(Pool.class);

    /** A waiter rescans after this long at first, doubling up to the maximum (see {@link Slot#setIdle}). */
    private static final long FIRST_RESCAN_NANOS = TimeUnit.MICROSECONDS.toNanos(100);

    private static final long MAX_RESCAN_NANOS = TimeUnit.MILLISECONDS.toNanos(16);

    private static final int SPINS_BEFORE_PARKING = (Runtime.getRuntime().availableProcessors() > 1) ? 128 : 0;

    private final PoolEngine<T> engine;

    private final ConcurrentLinkedQueue<Waiter<T>> queue = new ConcurrentLinkedQueue<>();

    private final WaitTimeRecorder waitTimes = new WaitTimeRecorder();

    /** Told of every borrow that had to wait; only the slow path reads it. */
    private volatile Pool.@Nullable WaitListener listener;

    WaitQueue(PoolEngine<T> engine) {
        this.engine = engine;
    }

    /*
     * Waiting. The waiter queues, then counts itself (a full fence), then rescans. A thread
     * returning on the slow path (publish) stores its slot idle with a full fence and then reads the
     * count, so one of the two sees the other. A thread returning on the hot path read the count as
     * zero before its release store, which has no StoreLoad fence: if this waiter counted itself in
     * between, its rescan may miss the slot. So the waiter parks in short, growing intervals (100 us
     * doubling to 16 ms) and rescans; the missed slot is found on the next rescan. The same wake-ups
     * let waiters create an object when a destroyed one made room, and see a close.
     */
    @Nullable Slot<T> await(SlotCache<T> cache, long timeoutNanos, boolean throwWhenExhausted) {
        PoolEngine<T> engine = this.engine;
        long start = System.nanoTime();
        boolean measured = false;
        Waiter<T> waiter = new Waiter<>(Thread.currentThread());
        // Queued before counted: a returning thread that sees the count finds the waiter queued.
        this.queue.add(waiter);
        engine.addWaiters(1);
        long parkNanos = FIRST_RESCAN_NANOS;
        try {
            for (;;) {
                if (waiter.isGranted()) {
                    measured = true;
                    return taken(cache, waiter);
                }
                Slot<T> slot;
                try {
                    slot = engine.claimIdleOrCreate(cache);
                    if (slot == null && engine.isElastic()) {
                        slot = engine.create(cache, true);
                    }
                }
                catch (Throwable ex) {
                    if (!waiter.cancel()) {
                        engine.publish(waiter.grantedSlot());
                    }
                    throw ex;
                }
                if (slot != null) {
                    measured = true;
                    if (waiter.cancel()) {
                        return slot;
                    }
                    engine.publish(slot);
                    return taken(cache, waiter);
                }
                if (engine.isClosed()) {
                    if (waiter.cancel()) {
                        throw engine.closedException();
                    }
                    return taken(cache, waiter);
                }
                long remaining = timeoutNanos - (System.nanoTime() - start);
                if (remaining <= 0) {
                    measured = true;
                    if (waiter.cancel()) {
                        return engine.exhausted(System.nanoTime() - start, throwWhenExhausted);
                    }
                    return taken(cache, waiter);
                }
                if (parkNanos == FIRST_RESCAN_NANOS && spinUntilGranted(waiter)) {
                    measured = true;
                    return taken(cache, waiter);
                }
                LockSupport.parkNanos(engine, Math.min(remaining, parkNanos));
                parkNanos = Math.min(parkNanos << 1, MAX_RESCAN_NANOS);
                if (Thread.currentThread().isInterrupted()) {
                    if (waiter.cancel()) {
                        throw new PoolException(engine.name(), "interrupted while waiting for an object",
                                new InterruptedException());
                    }
                    return taken(cache, waiter);
                }
            }
        }
        finally {
            engine.addWaiters(-1);
            if (waiter.isCancelled()) {
                this.queue.remove(waiter);
            }
            if (measured) {
                long waited = System.nanoTime() - start;
                this.waitTimes.record(waited);
                notifyWaited(waited);
            }
        }
    }

    /*
     * Before its first park a waiter spins for a few microseconds: objects in an exhausted pool are
     * often returned within that time, and a grant seen while spinning costs a cache-line transfer
     * instead of an operating-system wake-up (tens of microseconds). Only with more than one CPU,
     * where the returning thread can run meanwhile.
     */
    private static boolean spinUntilGranted(Waiter<?> waiter) {
        for (int i = 0; i < SPINS_BEFORE_PARKING; i++) {
            if (waiter.isGranted()) {
                return true;
            }
            Thread.onSpinWait();
        }
        return waiter.isGranted();
    }

    /** A slot handed to this waiter; given up if the pool closed meanwhile (see PoolEngine.claimCached). */
    private Slot<T> taken(SlotCache<T> cache, Waiter<T> waiter) {
        Slot<T> slot = waiter.grantedSlot();
        if (this.engine.isClosing()) {
            this.engine.destroy(slot);
            throw this.engine.closedException();
        }
        this.engine.trackBorrow(slot);
        cache.slot = slot;
        return slot;
    }

    /**
     * Hands a claimed slot to the longest waiter; false if nobody took it. The caller has seen a
     * non-zero waiter count (see PoolEngine.publish).
     */
    boolean handOff(Slot<T> slot) {
        Waiter<T> waiter;
        while ((waiter = this.queue.poll()) != null) {
            if (waiter.grant(slot)) {
                return true;
            }
        }
        return false;
    }

    /** Wakes the longest waiter so that it rescans: room to create was made, or the pool closed. */
    void wakeHead() {
        Waiter<T> head = this.queue.peek();
        if (head != null) {
            LockSupport.unpark(head.thread);
        }
    }

    /** Wakes every waiter so that it rescans: the limit grew, or the pool closed. */
    void wakeAll() {
        for (Waiter<T> waiter : this.queue) {
            LockSupport.unpark(waiter.thread);
        }
    }

    void setListener(Pool.@Nullable WaitListener listener) {
        this.listener = listener;
    }

    /** A failing listener must not turn a successful borrow into a failure: its error is logged. */
    private void notifyWaited(long nanos) {
        Pool.WaitListener listener = this.listener;
        if (listener == null) {
            return;
        }
        try {
            listener.waited(nanos);
        }
        catch (RuntimeException ex) {
            logger.warn("Pool '{}': the wait listener failed: {}", this.engine.name(), ex.toString());
        }
    }

    WaitTimeStats snapshot(long count) {
        return this.waitTimes.snapshot(count);
    }
}
