package io.pivotpool.pool;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything a {@link PoolEngine} does off the borrow and return paths, on its own daemon thread:
 * evicting idle and expired objects, reporting leaks, destroying objects above a lowered limit,
 * replenishing min-idle, and reaping idle objects after close. The engine keeps the hot fields; this
 * class only reads them and changes the pool through the engine's own destroy and publish paths,
 * so the accounting rules stay in one place (see {@link PoolEngine}).
 */
final class Housekeeper<T> {

    private static final Logger logger = LoggerFactory.getLogger(Pool.class);

    private static final long REAP_INTERVAL_MILLIS = 10;

    private final PoolEngine<T> engine;

    private final String name;

    private final int minIdle;

    private final long maxLifetimeNanos;

    private final long idleTimeoutNanos;

    private final long leakThresholdNanos;

    private final long intervalNanos;

    /** Null when the pool runs without one (model checking): housekeep() is then called by hand. */
    private final @Nullable ScheduledThreadPoolExecutor executor;

    private final ReentrantLock tickLock = new ReentrantLock();

    private volatile @Nullable Thread thread;

    private @Nullable ScheduledFuture<?> task;

    private volatile boolean replenishFailureLogged;

    Housekeeper(PoolEngine<T> engine, PoolSettings settings, boolean threaded) {
        this.engine = engine;
        this.name = engine.name();
        this.minIdle = settings.minIdle();
        this.maxLifetimeNanos = settings.maxLifetime().toNanos();
        this.idleTimeoutNanos = settings.idleTimeout().toNanos();
        this.leakThresholdNanos = settings.leakDetectionThreshold().toNanos();
        this.intervalNanos = settings.housekeepingInterval().toNanos();
        if (threaded) {
            this.executor = new ScheduledThreadPoolExecutor(1, (runnable) -> {
                Thread thread = new Thread(runnable, "pivot-pool-housekeeper-" + this.name);
                thread.setDaemon(true);
                this.thread = thread;
                return thread;
            });
            this.executor.setRemoveOnCancelPolicy(true);
        }
        else {
            this.executor = null;
        }
    }

    /** Fills min-idle once, then ticks every housekeeping-interval (if threaded). */
    void start() {
        replenish();
        if (this.executor != null) {
            this.task = this.executor.scheduleWithFixedDelay(this::housekeep, this.intervalNanos, this.intervalNanos,
                    TimeUnit.NANOSECONDS);
        }
    }

    /*
     * Runs on the housekeeper thread every housekeeping-interval. Idle time is measured without
     * clocks on the hot path: a slot that is idle at a tick and has not been borrowed since the
     * previous tick has been idle for at least one more interval.
     */
    void housekeep() {
        this.tickLock.lock();
        try {
            if (this.engine.isClosed()) {
                return;
            }
            long now = System.nanoTime();
            for (Slot<T> slot : this.engine.slots()) {
                inspect(slot, now);
            }
            evictIdleWhileOverLimit();
            this.engine.refreshOverLimitFlag();
            replenish();
        }
        catch (Throwable ex) {
            logger.warn("Pool '{}': housekeeping failed", this.name, ex);
        }
        finally {
            this.tickLock.unlock();
        }
    }

    private void inspect(Slot<T> slot, long now) {
        long borrows = slot.borrowCount();
        boolean unused = borrows == slot.borrowsSeenByHousekeeper;
        slot.borrowsSeenByHousekeeper = borrows;
        int state = slot.state;
        boolean expired = this.maxLifetimeNanos > 0 && now - slot.createdAtNanos > this.maxLifetimeNanos;
        if (state == SlotHotFields.IDLE) {
            slot.idleTicks = unused ? slot.idleTicks + 1 : 0;
            boolean idleTooLong = this.idleTimeoutNanos > 0
                    && slot.idleTicks * this.intervalNanos >= this.idleTimeoutNanos
                    && this.engine.kept() > this.minIdle;
            if ((expired || idleTooLong) && slot.tryReserve()) {
                this.engine.destroy(slot);
            }
        }
        else if (state == SlotHotFields.CLAIMED) {
            slot.idleTicks = 0;
            if (expired) {
                slot.retire = true;
            }
            // The site is cleared on return and written after borrowedAt on borrow, so a site read
            // first pairs with its own borrow time or a later one: never a false alarm.
            Throwable site = slot.borrowSite;
            if (this.leakThresholdNanos > 0 && site != null && !slot.leakReported
                    && now - slot.borrowedAtNanos > this.leakThresholdNanos) {
                slot.leakReported = true;
                this.engine.countLeak();
                logger.warn("Pool '{}': a lease has been held for more than {} ms; possible leak", this.name,
                        TimeUnit.NANOSECONDS.toMillis(this.leakThresholdNanos), site);
            }
        }
    }

    /**
     * Creates idle objects up to min-idle (within max-size). A failing factory, Errors included,
     * is logged once and retried on the next tick: Pool.create promises not to throw for it.
     */
    private void replenish() {
        while (!this.engine.isClosed()) {
            if (!this.engine.reserveBelowMinIdle(this.minIdle)) {
                return;
            }
            T object;
            try {
                object = this.engine.newObject(true);
            }
            catch (Throwable ex) {
                if (!this.replenishFailureLogged) {
                    this.replenishFailureLogged = true;
                    logger.warn("Pool '{}': could not create min-idle objects; retrying every {} ms", this.name,
                            TimeUnit.NANOSECONDS.toMillis(this.intervalNanos),
                            (ex instanceof PoolException) ? ex.getCause() : ex);
                }
                return;
            }
            this.replenishFailureLogged = false;
            Slot<T> slot = new Slot<>(this.engine, object, SlotHotFields.CLAIMED, false);
            if (!this.engine.addSlot(slot)) {
                this.engine.destroy(slot);
                return;
            }
            this.engine.publish(slot);
        }
    }

    /** Destroys idle objects, one excess at a time, until the pool keeps no more than max-size. */
    void evictIdleWhileOverLimit() {
        for (Slot<T> slot : this.engine.slots()) {
            if (!this.engine.keepsTooMany()) {
                return;
            }
            if (slot.tryReserve() && !this.engine.destroyIfExcess(slot, false)) {
                slot.setIdleFenced(); // the excess went meanwhile (another return destroyed it)
                return;
            }
        }
    }

    /*
     * After a shrink: a return on the hot path that read the attention word before the shrink set
     * MAYBE_OVER_LIMIT may make an excess object idle after the shrinking thread's own sweep; a
     * second sweep shortly after destroys it (and every tick would, later).
     */
    void sweepAgainSoonIfOverLimit() {
        if (this.executor == null || this.engine.isClosed() || !this.engine.keepsTooMany()) {
            return;
        }
        try {
            this.executor.schedule(this::sweepAfterShrink, REAP_INTERVAL_MILLIS, TimeUnit.MILLISECONDS);
        }
        catch (RejectedExecutionException ex) {
            // closed meanwhile: close destroys every idle object
        }
    }

    private void sweepAfterShrink() {
        try {
            evictIdleWhileOverLimit();
        }
        catch (Throwable ex) {
            logger.warn("Pool '{}': evicting after a shrink failed", this.name, ex);
        }
    }

    /*
     * Called by close after the closed flag is set. A tick in progress finishes before we go on, so
     * close() returns only once the housekeeper stopped calling the factory (ticks check closed
     * under the same lock).
     */
    void stopTicks() {
        ScheduledFuture<?> task = this.task;
        if (this.executor == null || task == null) {
            // The engine's constructor starts the ticks, so a threaded housekeeper always has its task here.
            return;
        }
        task.cancel(false);
        if (Thread.currentThread() != this.thread) {
            this.tickLock.lock();
            this.tickLock.unlock();
        }
    }

    /**
     * Called by close after its own sweep: keeps reaping until the pool is empty, then stops the
     * thread. The first failure, the rest suppressed in it.
     */
    @Nullable Throwable reapUntilEmpty(@Nullable Throwable failure) {
        if (this.executor == null) {
            return failure;
        }
        try {
            if (this.engine.size() > 0) {
                this.executor.scheduleWithFixedDelay(this::reapAfterClose, REAP_INTERVAL_MILLIS, REAP_INTERVAL_MILLIS,
                        TimeUnit.MILLISECONDS);
            }
            else {
                this.executor.shutdown();
            }
        }
        catch (Throwable ex) {
            failure = firstOf(failure, ex);
        }
        return failure;
    }

    /*
     * After close: destroys every idle object. Borrowed objects are destroyed as they return,
     * but a return racing close can, without a fence on the hot path, publish its object idle just
     * after close's own sweep; this reaper keeps sweeping until the pool is empty, then stops its
     * thread. A lease that is never returned keeps the reaper (one daemon thread, one cheap sweep
     * per interval) alive.
     */
    private void reapAfterClose() {
        Throwable failure = reap(null);
        if (failure != null) {
            logger.warn("Pool '{}': destroying an object after close failed", this.name, failure);
        }
        ScheduledThreadPoolExecutor executor = this.executor;
        if (this.engine.size() == 0 && executor != null) {
            executor.shutdown();
        }
    }

    /** Destroys every idle object, going on past failures; the first failure, the rest suppressed in it. */
    @Nullable Throwable reap(@Nullable Throwable failure) {
        for (Slot<T> slot : this.engine.slots()) {
            if (slot.tryReserve()) {
                try {
                    this.engine.destroy(slot);
                }
                catch (Throwable ex) {
                    failure = firstOf(failure, ex);
                }
            }
        }
        return failure;
    }

    static Throwable firstOf(@Nullable Throwable first, Throwable next) {
        if (first == null) {
            return next;
        }
        if (next != first) {
            first.addSuppressed(next);
        }
        return first;
    }
}
