package io.pivotpool.pool;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pool engine, behind {@link LocalPool}, which holds the per-thread caches.
 *
 * <h2>Hot path</h2> A borrow looks at the slot its thread used last (a {@link ThreadLocal}) and
 * claims it with one CAS; a return checks a few read-mostly volatile fields and publishes the slot
 * as idle with a release store. Nothing is allocated, no lock is taken and no clock is read unless
 * the settings ask for per-borrow checks. Borrow counts live in the slots, written by their
 * claimers, so statistics cost no shared write.
 *
 * <h2>Slow path</h2> A borrower whose cached slot is taken scans the slot array from a per-thread
 * starting point, then creates an object if the pool is below its limit, then applies the overflow
 * strategy. Waiters queue in FIFO order; a returning thread that sees waiters hands its slot to the
 * head of the queue without making it idle. Structural changes (adding or removing a slot) copy the
 * slot array under a {@link ReentrantLock}, never a monitor, so virtual threads do not pin.
 *
 * <h2>Accounting</h2> Size, max-size and the number of objects being destroyed share one word
 * ({@link #counts}), so that every decision about the limit is one CAS on a consistent snapshot.
 * Size counts pooled objects from the moment their creation is reserved until their destroy
 * callback has returned. Every path that destroys a slot goes through {@link #finishDestroy},
 * which is also where waiters are told to retry.
 */
final class PoolEngine<T> {

    private static final Logger logger = LoggerFactory.getLogger(Pool.class);

    /** A waiter rescans after this long at first, doubling up to the maximum (see {@link Slot#setIdle}). */
    private static final long FIRST_RESCAN_NANOS = TimeUnit.MICROSECONDS.toNanos(100);

    private static final long MAX_RESCAN_NANOS = TimeUnit.MILLISECONDS.toNanos(16);

    private static final int MAX_PUBLISH_ATTEMPTS = 3;

    private static final int SPINS_BEFORE_PARKING = (Runtime.getRuntime().availableProcessors() > 1) ? 128 : 0;

    private static final long REAP_INTERVAL_MILLIS = 10;

    private static final VarHandle COUNTS;

    private static final VarHandle ATTENTION;

    /** {@link #attention}: the number of waiters, in the low bits. */
    private static final int WAITER_MASK = (1 << 28) - 1;

    /** {@link #attention}: every return must clear its slot's borrow site. */
    private static final int TRACKING_LEAKS = 1 << 28;

    /** {@link #attention}: size may exceed max-size (elastic overflow or a shrink). */
    private static final int MAYBE_OVER_LIMIT = 1 << 29;

    /** {@link #attention}: the pool is closed. */
    private static final int CLOSING = 1 << 30;

    /** {@link #counts}: each of its three fields is this wide (see {@link PoolSettings#LARGEST_MAX_SIZE}). */
    private static final int FIELD_BITS = 21;

    private static final long FIELD_MASK = (1L << FIELD_BITS) - 1;

    private static final int DOOMED_SHIFT = FIELD_BITS;

    private static final int MAX_SHIFT = 2 * FIELD_BITS;

    private static final long ONE_OBJECT = 1L;

    private static final long ONE_DOOMED = 1L << DOOMED_SHIFT;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            COUNTS = lookup.findVarHandle(PoolEngine.class, "counts", long.class);
            ATTENTION = lookup.findVarHandle(PoolEngine.class, "attention", int.class);
        }
        catch (ReflectiveOperationException ex) {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final String name;

    private final PoolSettings settings;

    private final Supplier<? extends T> factory;

    private final Predicate<? super T> validator;

    private final Consumer<? super T> resetter;

    private final Consumer<? super T> destroyer;

    private final boolean resets;

    /** No validation, lifetime check or leak tracking on borrow: the fast path is a bare CAS. */
    private final boolean plainBorrow;

    private final boolean validates;

    private final boolean checksLifetimeOnBorrow;

    private final boolean tracksLeaks;

    private final long borrowTimeoutNanos;

    private final long maxLifetimeNanos;

    private final long idleTimeoutNanos;

    private final long leakThresholdNanos;

    private final long housekeepingNanos;

    private final Overflow overflow;

    private final int emergencyLimit;

    private final ReentrantLock structureLock = new ReentrantLock();

    @SuppressWarnings("unchecked")
    private volatile Slot<T>[] slots = new Slot[0];

    /*
     * Three numbers in one word: size (bits 0-20), doomed (bits 21-41) and max-size (bits 42-62).
     * Size counts every pooled object whose creation has been reserved and whose destroy callback
     * has not returned; doomed counts those of them whose destruction has been decided. So:
     *  - a creator CASes size + 1 against the max-size of the same snapshot. A setMaxSize CASes the
     *    max field, so either it came first and the creator saw the new limit, or it came after
     *    and the creator's CAS failed: once setMaxSize(n) has returned no creation takes size
     *    above n, and a grow is seen by the next CAS.
     *  - a destroyer adds one to doomed before anything else and takes one off size and doomed
     *    together only after the destroy callback returned: an object counts against the limit,
     *    and in stats, until it is really gone (max-size 1 never has two objects alive).
     *  - an over-limit destroy (a shrink, an elastic object coming back) dooms its object only
     *    while size - doomed exceeds the limit, in the same CAS: returns that race each other
     *    destroy exactly the excess, never one more.
     */
    private volatile long counts;

    /*
     * Everything a return on the hot path must not miss, in one word, so that the fast path reads
     * one field instead of five: the waiter count and three flags. MAYBE_OVER_LIMIT is set by
     * whoever may have pushed size above max-size (a creator after its size CAS, a shrink after
     * writing max-size) and cleared only by the housekeeper, which clears first and then re-checks
     * the sizes: so either the housekeeper sees the new size and sets the flag again, or the
     * setter's write lands after the clear. A stale flag only sends returns down the slow path,
     * which checks the real sizes.
     */
    private volatile int attention;

    private volatile boolean closed;

    private final ConcurrentLinkedQueue<Waiter<T>> waitQueue = new ConcurrentLinkedQueue<>();

    /** Null when the pool runs without one (model checking): housekeep() is then called by hand. */
    private final ScheduledThreadPoolExecutor housekeeper;

    private final LongAdder created = new LongAdder();

    private final LongAdder destroyed = new LongAdder();

    private final LongAdder timeouts = new LongAdder();

    private final LongAdder overflowCreated = new LongAdder();

    private final LongAdder creationFailures = new LongAdder();

    private final LongAdder leaks = new LongAdder();

    /** Borrows counted by slots that have since been destroyed, and by unpooled objects. */
    private final LongAdder retiredBorrows = new LongAdder();

    private final WaitTimeRecorder waitTimes = new WaitTimeRecorder();

    /** Told of every borrow that had to wait; only the slow path reads it. */
    private volatile Pool.WaitListener waitListener;

    /** The largest borrow count stats() has reported, so that the count never goes backwards. */
    private final AtomicLong borrowsReported = new AtomicLong();

    private volatile boolean replenishFailureLogged;

    private volatile Thread housekeeperThread;

    private final ReentrantLock housekeepingLock = new ReentrantLock();

    private ScheduledFuture<?> housekeepingTask;

    PoolEngine(PoolSpec<T> spec, PoolSettings settings) {
        this(spec, settings, true, settings.maxSize());
    }

    PoolEngine(PoolSpec<T> spec, PoolSettings settings, boolean housekeeping) {
        this(spec, settings, housekeeping, settings.maxSize());
    }

    /**
     * @param housekeeping false for tests that must not see a second thread (model checking):
     *     nothing evicts, replenishes or reaps unless {@link #housekeep()} is called
     * @param initialMaxSize the size limit to start with, at most max-size (min-idle is filled
     *     within it)
     */
    PoolEngine(PoolSpec<T> spec, PoolSettings settings, boolean housekeeping, int initialMaxSize) {
        Objects.requireNonNull(spec, "spec must not be null");
        this.settings = Objects.requireNonNull(settings, "settings must not be null");
        this.name = spec.name();
        this.factory = spec.create();
        this.validator = spec.validate();
        this.resetter = spec.reset();
        this.destroyer = spec.destroy();
        this.resets = spec.resets();
        this.validates = spec.validates();
        this.maxLifetimeNanos = settings.maxLifetime().toNanos();
        this.checksLifetimeOnBorrow = settings.checkLifetimeOnBorrow() && this.maxLifetimeNanos > 0;
        this.leakThresholdNanos = settings.leakDetectionThreshold().toNanos();
        this.tracksLeaks = this.leakThresholdNanos > 0;
        this.plainBorrow = !this.validates && !this.checksLifetimeOnBorrow && !this.tracksLeaks;
        this.borrowTimeoutNanos = settings.borrowTimeout().toNanos();
        this.idleTimeoutNanos = settings.idleTimeout().toNanos();
        this.housekeepingNanos = settings.housekeepingInterval().toNanos();
        this.overflow = settings.overflow();
        this.emergencyLimit = settings.emergencyLimit();
        if (initialMaxSize < 0 || initialMaxSize > settings.maxSize()) {
            throw new IllegalArgumentException("initial max-size must be between 0 and max-size ("
                    + settings.maxSize() + "), was " + initialMaxSize);
        }
        this.counts = (long) initialMaxSize << MAX_SHIFT;
        this.attention = this.tracksLeaks ? TRACKING_LEAKS : 0;
        if (housekeeping) {
            this.housekeeper = new ScheduledThreadPoolExecutor(1, (runnable) -> {
                Thread thread = new Thread(runnable, "pivot-pool-housekeeper-" + this.name);
                thread.setDaemon(true);
                this.housekeeperThread = thread;
                return thread;
            });
            this.housekeeper.setRemoveOnCancelPolicy(true);
        }
        else {
            this.housekeeper = null;
        }
        replenish();
        if (this.housekeeper != null) {
            this.housekeepingTask = this.housekeeper.scheduleWithFixedDelay(this::housekeep, this.housekeepingNanos,
                    this.housekeepingNanos, TimeUnit.NANOSECONDS);
        }
    }

    public String name() {
        return this.name;
    }

    public PoolSettings settings() {
        return this.settings;
    }

    // ---- borrow ------------------------------------------------------------------------------

    Lease<T> borrow(SlotCache<T> cache) {
        Slot<T> slot = claimCached(cache);
        return (slot != null) ? slot : borrowSlow(cache, this.borrowTimeoutNanos, true);
    }

    Lease<T> borrow(SlotCache<T> cache, Duration timeout) {
        Objects.requireNonNull(timeout, "timeout must not be null");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must not be negative, was " + timeout);
        }
        Slot<T> slot = claimCached(cache);
        return (slot != null) ? slot : borrowSlow(cache, saturatedNanos(timeout), true);
    }

    Lease<T> tryBorrow(SlotCache<T> cache) {
        Slot<T> slot = claimCached(cache);
        return (slot != null) ? slot : borrowSlow(cache, 0, false);
    }

    /**
     * The fast path: one CAS on the slot this thread used last, then one read of the attention
     * word (see {@link #keepClaimed}).
     */
    private Slot<T> claimCached(SlotCache<T> cache) {
        Slot<T> slot = cache.slot;
        if (slot == null || !slot.tryClaim()) {
            return null;
        }
        if (!this.plainBorrow && !admit(slot)) {
            return null;
        }
        if ((this.attention & (CLOSING | MAYBE_OVER_LIMIT)) != 0 && !keepClaimed(slot)) {
            return null;
        }
        slot.countBorrow();
        return slot;
    }

    /*
     * Every claim of an idle slot reads the attention word after its CAS (and after the object's
     * checks) and, if the pool is closing or may be above its limit, comes here:
     *  - closing: the object is given up and the borrow fails. close() sets CLOSING before
     *    anything else, so a borrow that succeeds had claimed its object before close began.
     *  - above the limit: a hot-path return that read the attention word just before a shrink set
     *    MAYBE_OVER_LIMIT may make an excess object idle after setMaxSize returned. Its claimer
     *    destroys it if the pool keeps more than its limit (with elastic overflow: more than the
     *    emergency limit, since a borrower may use objects up to it), so a borrow that starts
     *    after setMaxSize(n) returned is never served by an object above n: the shrink is
     *    linearizable although the return took no fence. The caller then scans or creates, within
     *    the limit.
     * The hot path pays nothing for this: it reads the attention word where it read the closed
     * flag before, and both flags are rare.
     */
    private boolean keepClaimed(Slot<T> slot) {
        if (this.closed || (this.attention & CLOSING) != 0) {
            destroy(slot);
            throw closedException();
        }
        return !destroyIfExcess(slot, this.overflow == Overflow.ELASTIC);
    }

    /**
     * Checks a freshly claimed idle slot: max-lifetime (when checked per borrow) and validation; an
     * object that fails is destroyed. Records the borrow site when leak detection is on.
     */
    private boolean admit(Slot<T> slot) {
        if (this.checksLifetimeOnBorrow && System.nanoTime() - slot.createdAtNanos > this.maxLifetimeNanos) {
            destroy(slot);
            return false;
        }
        if (this.validates && !isValid(slot)) {
            return false;
        }
        trackBorrow(slot);
        return true;
    }

    private void trackBorrow(Slot<T> slot) {
        if (this.tracksLeaks) {
            // borrowedAt before the site: the housekeeper reads the site first (see inspect)
            slot.borrowedAtNanos = System.nanoTime();
            slot.leakReported = false;
            slot.borrowSite = new Throwable("Lease of pool '" + this.name + "' borrowed here");
        }
    }

    /** Validates a claimed slot, destroying it when it fails (an Error is rethrown after that). */
    private boolean isValid(Slot<T> slot) {
        boolean valid;
        try {
            valid = this.validator.test(slot.object);
        }
        catch (Throwable ex) {
            destroy(slot);
            if (ex instanceof Error error) {
                throw error;
            }
            logger.debug("Pool '{}': validation of {} threw; destroying it", this.name, slot.object, ex);
            return false;
        }
        if (!valid) {
            destroy(slot);
        }
        return valid;
    }

    private Lease<T> borrowSlow(SlotCache<T> cache, long timeoutNanos, boolean throwWhenExhausted) {
        if (this.closed) {
            throw closedException();
        }
        Slot<T> slot = claimIdleOrCreate(cache);
        if (slot == null) {
            slot = overflow(cache, timeoutNanos, throwWhenExhausted);
            if (slot == null) {
                return null;
            }
        }
        slot.countBorrow();
        return slot;
    }

    /** An idle slot claimed by scanning, or a new one if the pool is below its limit, or null. */
    private Slot<T> claimIdleOrCreate(SlotCache<T> cache) {
        Slot<T> slot = claimIdle(cache);
        return (slot != null) ? slot : create(cache, false);
    }

    private Slot<T> claimIdle(SlotCache<T> cache) {
        Slot<T>[] slots = this.slots;
        int length = slots.length;
        if (length == 0) {
            return null;
        }
        int start = cache.scanStart;
        for (int i = 0; i < length; i++) {
            Slot<T> slot = slots[(int) ((start + (long) i) % length)];
            if (slot.tryClaim() && admit(slot)
                    && ((this.attention & (CLOSING | MAYBE_OVER_LIMIT)) == 0 || keepClaimed(slot))) {
                cache.slot = slot;
                cache.scanStart = start + i + 1;
                return slot;
            }
        }
        return null;
    }

    private Slot<T> overflow(SlotCache<T> cache, long timeoutNanos, boolean throwWhenExhausted) {
        switch (this.overflow) {
            case FAIL:
                return exhausted(0, throwWhenExhausted);
            case FALLBACK:
                return createUnpooled();
            case ELASTIC: {
                Slot<T> slot = create(cache, true);
                if (slot != null) {
                    return slot;
                }
                break;
            }
            default:
                break;
        }
        if (timeoutNanos <= 0) {
            return exhausted(0, throwWhenExhausted);
        }
        return await(cache, timeoutNanos, throwWhenExhausted);
    }

    /**
     * The emergency limit for a max-size: it scales with run-time changes of max-size (a
     * coordinator shrinking this instance's share shrinks its emergency headroom in proportion),
     * rounded up.
     */
    private int elasticCeiling(int max) {
        int configuredMax = this.settings.maxSize();
        long scaled = ((long) max * this.emergencyLimit + configuredMax - 1) / configuredMax;
        return (int) Math.max(max, Math.min(PoolSettings.LARGEST_MAX_SIZE, scaled));
    }

    private Slot<T> exhausted(long waitedNanos, boolean throwWhenExhausted) {
        if (!throwWhenExhausted) {
            return null;
        }
        this.timeouts.increment();
        long counts = this.counts;
        throw new PoolExhaustedException(this.name, sizeOf(counts), maxOf(counts), Duration.ofNanos(waitedNanos));
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
    private Slot<T> await(SlotCache<T> cache, long timeoutNanos, boolean throwWhenExhausted) {
        long start = System.nanoTime();
        boolean measured = false;
        Waiter<T> waiter = new Waiter<>(Thread.currentThread());
        // Queued before counted: a returning thread that sees the count finds the waiter queued.
        this.waitQueue.add(waiter);
        ATTENTION.getAndAdd(this, 1);
        long parkNanos = FIRST_RESCAN_NANOS;
        try {
            for (;;) {
                if (waiter.isGranted()) {
                    measured = true;
                    return taken(cache, waiter);
                }
                Slot<T> slot;
                try {
                    slot = claimIdleOrCreate(cache);
                    if (slot == null && this.overflow == Overflow.ELASTIC) {
                        slot = create(cache, true);
                    }
                }
                catch (Throwable ex) {
                    if (!waiter.cancel()) {
                        publish(waiter.grantedSlot());
                    }
                    throw ex;
                }
                if (slot != null) {
                    measured = true;
                    if (waiter.cancel()) {
                        return slot;
                    }
                    publish(slot);
                    return taken(cache, waiter);
                }
                if (this.closed) {
                    if (waiter.cancel()) {
                        throw closedException();
                    }
                    return taken(cache, waiter);
                }
                long remaining = timeoutNanos - (System.nanoTime() - start);
                if (remaining <= 0) {
                    measured = true;
                    if (waiter.cancel()) {
                        return exhausted(System.nanoTime() - start, throwWhenExhausted);
                    }
                    return taken(cache, waiter);
                }
                if (parkNanos == FIRST_RESCAN_NANOS && spinUntilGranted(waiter)) {
                    measured = true;
                    return taken(cache, waiter);
                }
                LockSupport.parkNanos(this, Math.min(remaining, parkNanos));
                parkNanos = Math.min(parkNanos << 1, MAX_RESCAN_NANOS);
                if (Thread.currentThread().isInterrupted()) {
                    if (waiter.cancel()) {
                        throw new PoolException(this.name, "interrupted while waiting for an object",
                                new InterruptedException());
                    }
                    return taken(cache, waiter);
                }
            }
        }
        finally {
            ATTENTION.getAndAdd(this, -1);
            if (waiter.isCancelled()) {
                this.waitQueue.remove(waiter);
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

    /** A slot handed to this waiter; given up if the pool closed meanwhile (see claimCached). */
    private Slot<T> taken(SlotCache<T> cache, Waiter<T> waiter) {
        Slot<T> slot = waiter.grantedSlot();
        if ((this.attention & CLOSING) != 0 || this.closed) {
            destroy(slot);
            throw closedException();
        }
        trackBorrow(slot);
        cache.slot = slot;
        return slot;
    }

    /*
     * Makes a claimed slot available again: to the longest waiter, else as idle; unless the pool
     * closed, the object is past a max-lifetime checked on borrow (a hand-off is a borrow), or
     * the pool keeps more objects than its limit: then the object is destroyed, and never handed
     * to a waiter, so a waiter is never served above the limit. With elastic overflow a waiter may
     * take an object up to the emergency limit (it could create one as well); if nobody takes it,
     * it is destroyed unless within max-size. The idle store is a full fence followed by reads of the waiter count and the closed
     * flag; a waiter queues, then counts itself, and close sets its flag, each with a full fence
     * before reading slot states. By Dekker's argument at least one side sees the other: if this
     * thread sees nobody, the waiter's rescan or close's sweep sees the idle slot; if it sees a
     * waiter, that waiter is already queued, so taking the slot back and handing it over finds it
     * (unless it was served or gave up meanwhile). The retry bound only stops a ping-pong with
     * waiters that keep arriving and leaving; their timed rescans cover the rest. A slot taken back
     * after a close is destroyed.
     */
    private void publish(Slot<T> slot) {
        if (this.tracksLeaks) {
            slot.borrowSite = null;
        }
        for (int attempt = 0;; attempt++) {
            if (this.closed || expiredForBorrow(slot)) {
                destroy(slot);
                return;
            }
            boolean elasticHeadroom = this.overflow == Overflow.ELASTIC && waiterCount() != 0;
            if (destroyIfExcess(slot, elasticHeadroom)) {
                return;
            }
            if (handOff(slot)) {
                return;
            }
            if (elasticHeadroom && destroyIfExcess(slot, false)) {
                return;
            }
            slot.setIdleFenced();
            if (!this.closed && (waiterCount() == 0 || attempt >= MAX_PUBLISH_ATTEMPTS)) {
                return;
            }
            if (!slot.tryClaim()) {
                return;
            }
        }
    }

    private boolean expiredForBorrow(Slot<T> slot) {
        return this.checksLifetimeOnBorrow && System.nanoTime() - slot.createdAtNanos > this.maxLifetimeNanos;
    }

    // ---- creation ----------------------------------------------------------------------------

    /**
     * Creates a claimed slot if the pool is below its limit (max-size, or the elastic ceiling), or
     * returns null. The room is reserved first (see {@link #counts}).
     */
    private Slot<T> create(SlotCache<T> cache, boolean elastic) {
        if (this.closed) {
            throw closedException();
        }
        long before = reserveCreation(elastic);
        if (before < 0) {
            return null;
        }
        boolean beyondMax = sizeOf(before) >= maxOf(before);
        if (beyondMax) {
            markMaybeOverLimit();
        }
        T object = newObject();
        Slot<T> slot = new Slot<>(this, object, SlotHotFields.CLAIMED, false);
        if (beyondMax) {
            this.overflowCreated.increment();
        }
        if (!addSlot(slot)) {
            destroy(slot);
            throw closedException();
        }
        trackBorrow(slot);
        cache.slot = slot;
        return slot;
    }

    /**
     * Adds one to size if size is below the limit of the same snapshot: the word before, or -1 if
     * there is no room.
     */
    private long reserveCreation(boolean elastic) {
        for (;;) {
            long counts = this.counts;
            int max = maxOf(counts);
            if (sizeOf(counts) >= (elastic ? elasticCeiling(max) : max)) {
                return -1;
            }
            if (COUNTS.compareAndSet(this, counts, counts + ONE_OBJECT)) {
                return counts;
            }
        }
    }

    /** Calls the factory for a slot whose size is already reserved; undoes the reservation on failure. */
    private T newObject() {
        T object;
        try {
            object = this.factory.get();
            if (object == null) {
                throw new NullPointerException("the factory returned null");
            }
        }
        catch (Throwable ex) {
            COUNTS.getAndAdd(this, -ONE_OBJECT);
            this.creationFailures.increment();
            signalWaiter();
            if (ex instanceof Error error) {
                throw error;
            }
            throw new PoolException(this.name, "could not create an object: " + ex.getMessage(), ex);
        }
        this.created.increment();
        return object;
    }

    private Slot<T> createUnpooled() {
        T object;
        try {
            object = this.factory.get();
            if (object == null) {
                throw new NullPointerException("the factory returned null");
            }
        }
        catch (Throwable ex) {
            this.creationFailures.increment();
            if (ex instanceof Error error) {
                throw error;
            }
            throw new PoolException(this.name, "could not create a fallback object: " + ex.getMessage(), ex);
        }
        this.created.increment();
        this.overflowCreated.increment();
        Slot<T> slot = new Slot<>(this, object, SlotHotFields.CLAIMED, true);
        trackBorrow(slot);
        return slot;
    }

    private boolean addSlot(Slot<T> slot) {
        this.structureLock.lock();
        try {
            if (this.closed) {
                return false;
            }
            Slot<T>[] current = this.slots;
            Slot<T>[] next = Arrays.copyOf(current, current.length + 1);
            next[current.length] = slot;
            this.slots = next;
            return true;
        }
        finally {
            this.structureLock.unlock();
        }
    }

    private void removeSlot(Slot<T> slot) {
        this.structureLock.lock();
        try {
            Slot<T>[] current = this.slots;
            for (int i = 0; i < current.length; i++) {
                if (current[i] == slot) {
                    @SuppressWarnings("unchecked")
                    Slot<T>[] next = new Slot[current.length - 1];
                    System.arraycopy(current, 0, next, 0, i);
                    System.arraycopy(current, i + 1, next, i, current.length - i - 1);
                    this.slots = next;
                    return;
                }
            }
        }
        finally {
            this.structureLock.unlock();
        }
    }

    // ---- return ------------------------------------------------------------------------------

    void release(Slot<T> slot) {
        if (slot.state != SlotHotFields.CLAIMED) {
            throw alreadyReturned();
        }
        if (slot.unpooled) {
            destroyUnpooled(slot);
            return;
        }
        if (this.resets && !reset(slot)) {
            return;
        }
        if (this.attention != 0 || slot.retire) {
            releaseSlow(slot);
            return;
        }
        slot.setIdle();
    }

    private void releaseSlow(Slot<T> slot) {
        if (this.closed || slot.retire) {
            destroy(slot);
            return;
        }
        publish(slot);
    }

    /** Hands a claimed slot to the longest waiter, if any; false if nobody waits. */
    private boolean handOff(Slot<T> slot) {
        if (waiterCount() == 0) {
            return false;
        }
        Waiter<T> waiter;
        while ((waiter = this.waitQueue.poll()) != null) {
            if (waiter.grant(slot)) {
                return true;
            }
        }
        return false;
    }

    private boolean reset(Slot<T> slot) {
        try {
            this.resetter.accept(slot.object);
            return true;
        }
        catch (Throwable ex) {
            destroy(slot);
            if (ex instanceof Error error) {
                throw error;
            }
            logger.warn("Pool '{}': reset of {} threw {}; destroyed it", this.name, slot.object, ex.toString());
            return false;
        }
    }

    void invalidate(Slot<T> slot) {
        if (slot.state != SlotHotFields.CLAIMED) {
            throw alreadyReturned();
        }
        if (slot.unpooled) {
            destroyUnpooled(slot);
            return;
        }
        destroy(slot);
    }

    private IllegalStateException alreadyReturned() {
        return new IllegalStateException("Lease of pool '" + this.name + "' was already returned");
    }

    // ---- destruction -------------------------------------------------------------------------

    /** Destroys a pooled slot that the caller holds (claimed or reserved), whatever the sizes. */
    private void destroy(Slot<T> slot) {
        COUNTS.getAndAdd(this, ONE_DOOMED);
        finishDestroy(slot);
    }

    /**
     * Destroys a held slot if the pool keeps more objects than its limit (max-size, or with
     * {@code elasticHeadroom} the elastic ceiling); false, and the slot still held, if not.
     */
    private boolean destroyIfExcess(Slot<T> slot, boolean elasticHeadroom) {
        for (;;) {
            long counts = this.counts;
            int max = maxOf(counts);
            if (keptOf(counts) <= (elasticHeadroom ? elasticCeiling(max) : max)) {
                return false;
            }
            if (COUNTS.compareAndSet(this, counts, counts + ONE_DOOMED)) {
                finishDestroy(slot);
                return true;
            }
        }
    }

    /*
     * For a slot counted in doomed. The borrow count moves to the retired count after the slot
     * left the array, and stats() reads the retired count before the array, so a borrow is never
     * counted twice (a stats() call in between may miss it once; see borrowsReported). Size and
     * doomed drop only after the destroy callback returned, in a finally: a callback that throws
     * an Error still gives its room back.
     */
    private void finishDestroy(Slot<T> slot) {
        slot.setDead();
        removeSlot(slot);
        this.retiredBorrows.add(slot.borrowCount());
        try {
            callDestroy(slot.object);
        }
        finally {
            this.destroyed.increment();
            COUNTS.getAndAdd(this, -(ONE_OBJECT + ONE_DOOMED));
            signalWaiter();
        }
    }

    private void destroyUnpooled(Slot<T> slot) {
        slot.setDead();
        this.retiredBorrows.add(slot.borrowCount());
        try {
            callDestroy(slot.object);
        }
        finally {
            this.destroyed.increment();
        }
    }

    private void callDestroy(T object) {
        try {
            this.destroyer.accept(object);
        }
        catch (RuntimeException ex) {
            logger.warn("Pool '{}': destroying {} threw {}", this.name, object, ex.toString());
        }
    }

    /** Wakes the longest waiter so that it rescans: room to create was made, or the pool closed. */
    private void signalWaiter() {
        if (waiterCount() != 0) {
            Waiter<T> head = this.waitQueue.peek();
            if (head != null) {
                LockSupport.unpark(head.thread);
            }
        }
    }

    // ---- sizing ------------------------------------------------------------------------------

    public int maxSize() {
        return maxOf(this.counts);
    }

    /** {@link PoolStats#size()} without the rest of the snapshot. */
    int size() {
        return sizeOf(this.counts);
    }

    /*
     * The CAS on the max field is the linearization point (see counts). The flag comes after it,
     * so that the housekeeper's clear-then-recheck sees the new limit. A return on the hot path
     * that read the attention word before the flag may still make an excess object idle after
     * this thread's sweep; a second sweep shortly after, and every housekeeping tick, destroy it.
     */
    public void setMaxSize(int maxSize) {
        if (maxSize < 0 || maxSize > PoolSettings.LARGEST_MAX_SIZE) {
            throw new IllegalArgumentException("max-size must be between 0 and " + PoolSettings.LARGEST_MAX_SIZE
                    + ", was " + maxSize);
        }
        long counts;
        do {
            counts = this.counts;
        }
        while (!COUNTS.compareAndSet(this, counts, (counts & ~(FIELD_MASK << MAX_SHIFT))
                | ((long) maxSize << MAX_SHIFT)));
        int previous = maxOf(counts);
        if (maxSize < previous) {
            markMaybeOverLimit();
            evictIdleWhileOverLimit();
            sweepAgainSoonIfOverLimit();
        }
        else if (maxSize > previous) {
            for (Waiter<T> waiter : this.waitQueue) {
                LockSupport.unpark(waiter.thread);
            }
        }
    }

    /** Destroys idle objects, one excess at a time, until the pool keeps no more than max-size. */
    private void evictIdleWhileOverLimit() {
        for (Slot<T> slot : this.slots) {
            if (!keepsTooMany()) {
                return;
            }
            if (slot.tryReserve() && !destroyIfExcess(slot, false)) {
                slot.setIdleFenced(); // the excess went meanwhile (another return destroyed it)
                return;
            }
        }
    }

    private boolean keepsTooMany() {
        long counts = this.counts;
        return keptOf(counts) > maxOf(counts);
    }

    private void sweepAgainSoonIfOverLimit() {
        if (this.housekeeper == null || this.closed || !keepsTooMany()) {
            return;
        }
        try {
            this.housekeeper.schedule(this::sweepAfterShrink, REAP_INTERVAL_MILLIS, TimeUnit.MILLISECONDS);
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

    private int waiterCount() {
        return this.attention & WAITER_MASK;
    }

    private void markMaybeOverLimit() {
        if ((this.attention & MAYBE_OVER_LIMIT) == 0) {
            ATTENTION.getAndBitwiseOr(this, MAYBE_OVER_LIMIT);
        }
    }

    /** Housekeeper only: clear first, then re-check (see {@link #attention}). */
    private void refreshOverLimitFlag() {
        if ((this.attention & MAYBE_OVER_LIMIT) != 0) {
            ATTENTION.getAndBitwiseAnd(this, ~MAYBE_OVER_LIMIT);
            if (keepsTooMany()) {
                markMaybeOverLimit();
            }
        }
    }

    private static int sizeOf(long counts) {
        return (int) (counts & FIELD_MASK);
    }

    private static int doomedOf(long counts) {
        return (int) ((counts >>> DOOMED_SHIFT) & FIELD_MASK);
    }

    private static int maxOf(long counts) {
        return (int) (counts >>> MAX_SHIFT);
    }

    /** Objects the pool keeps: size without those being destroyed. */
    private static int keptOf(long counts) {
        return sizeOf(counts) - doomedOf(counts);
    }

    // ---- housekeeping ------------------------------------------------------------------------

    /*
     * Runs on the housekeeper thread every housekeeping-interval. Idle time is measured without
     * clocks on the hot path: a slot that is idle at a tick and has not been borrowed since the
     * previous tick has been idle for at least one more interval.
     */
    void housekeep() {
        this.housekeepingLock.lock();
        try {
            if (this.closed) {
                return;
            }
            long now = System.nanoTime();
            for (Slot<T> slot : this.slots) {
                inspect(slot, now);
            }
            evictIdleWhileOverLimit();
            refreshOverLimitFlag();
            replenish();
        }
        catch (Throwable ex) {
            logger.warn("Pool '{}': housekeeping failed", this.name, ex);
        }
        finally {
            this.housekeepingLock.unlock();
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
                    && slot.idleTicks * this.housekeepingNanos >= this.idleTimeoutNanos
                    && keptOf(this.counts) > this.settings.minIdle();
            if ((expired || idleTooLong) && slot.tryReserve()) {
                destroy(slot);
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
            if (this.tracksLeaks && site != null && !slot.leakReported
                    && now - slot.borrowedAtNanos > this.leakThresholdNanos) {
                slot.leakReported = true;
                this.leaks.increment();
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
        while (!this.closed) {
            long counts = this.counts;
            if (sizeOf(counts) >= Math.min(this.settings.minIdle(), maxOf(counts))) {
                return;
            }
            if (!COUNTS.compareAndSet(this, counts, counts + ONE_OBJECT)) {
                continue;
            }
            T object;
            try {
                object = newObject();
            }
            catch (Throwable ex) {
                if (!this.replenishFailureLogged) {
                    this.replenishFailureLogged = true;
                    logger.warn("Pool '{}': could not create min-idle objects; retrying every {} ms", this.name,
                            TimeUnit.NANOSECONDS.toMillis(this.housekeepingNanos),
                            (ex instanceof PoolException) ? ex.getCause() : ex);
                }
                return;
            }
            this.replenishFailureLogged = false;
            Slot<T> slot = new Slot<>(this, object, SlotHotFields.CLAIMED, false);
            if (!addSlot(slot)) {
                destroy(slot);
                return;
            }
            publish(slot);
        }
    }

    // ---- stats and close ---------------------------------------------------------------------

    void setWaitListener(Pool.WaitListener listener) {
        this.waitListener = listener;
    }

    /** A failing listener must not turn a successful borrow into a failure: its error is logged. */
    private void notifyWaited(long nanos) {
        Pool.WaitListener listener = this.waitListener;
        if (listener == null) {
            return;
        }
        try {
            listener.waited(nanos);
        }
        catch (RuntimeException ex) {
            logger.warn("Pool '{}': the wait listener failed: {}", this.name, ex.toString());
        }
    }

    public PoolStats stats() {
        // the retired count before the slots: see finishDestroy
        long borrows = this.retiredBorrows.sum();
        int idle = 0;
        int active = 0;
        for (Slot<T> slot : this.slots) {
            int state = slot.state;
            if (state == SlotHotFields.IDLE) {
                idle++;
            }
            else if (state == SlotHotFields.CLAIMED) {
                active++;
            }
            borrows += slot.borrowCount();
        }
        borrows = this.borrowsReported.accumulateAndGet(borrows, Math::max);
        long counts = this.counts;
        long timeouts = this.timeouts.sum();
        return new PoolStats(this.name, sizeOf(counts), idle, active, waiterCount(), maxOf(counts),
                this.created.sum(), this.destroyed.sum(), borrows, timeouts, this.overflowCreated.sum(),
                this.creationFailures.sum(), this.leaks.sum(), this.waitTimes.snapshot(borrows + timeouts));
    }

    /*
     * Every step runs whatever the callbacks throw: a destroy that throws an Error must not leave
     * waiters parked, idle objects alive or the housekeeper running. The first failure is thrown
     * at the end, later ones suppressed in it.
     */
    public void close() {
        this.structureLock.lock();
        try {
            if (this.closed) {
                return;
            }
            // CLOSING first: a claim that does not see it in the attention word came before close
            ATTENTION.getAndBitwiseOr(this, CLOSING);
            this.closed = true;
        }
        finally {
            this.structureLock.unlock();
        }
        if (this.housekeeper != null) {
            this.housekeepingTask.cancel(false);
            // A tick in progress finishes before we go on, so close() returns only once the
            // housekeeper stopped calling the factory (ticks check closed under the same lock).
            if (Thread.currentThread() != this.housekeeperThread) {
                this.housekeepingLock.lock();
                this.housekeepingLock.unlock();
            }
        }
        for (Waiter<T> waiter : this.waitQueue) {
            LockSupport.unpark(waiter.thread);
        }
        Throwable failure = reap(null);
        if (this.housekeeper != null) {
            try {
                if (sizeOf(this.counts) > 0) {
                    this.housekeeper.scheduleWithFixedDelay(this::reapAfterClose, REAP_INTERVAL_MILLIS,
                            REAP_INTERVAL_MILLIS, TimeUnit.MILLISECONDS);
                }
                else {
                    this.housekeeper.shutdown();
                }
            }
            catch (Throwable ex) {
                failure = firstOf(failure, ex);
            }
        }
        if (failure instanceof Error error) {
            throw error;
        }
        if (failure instanceof RuntimeException exception) {
            throw exception;
        }
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
        if (sizeOf(this.counts) == 0) {
            this.housekeeper.shutdown();
        }
    }

    /** Destroys every idle object, going on past failures; the first failure, the rest suppressed in it. */
    private Throwable reap(Throwable failure) {
        for (Slot<T> slot : this.slots) {
            if (slot.tryReserve()) {
                try {
                    destroy(slot);
                }
                catch (Throwable ex) {
                    failure = firstOf(failure, ex);
                }
            }
        }
        return failure;
    }

    private static Throwable firstOf(Throwable first, Throwable next) {
        if (first == null) {
            return next;
        }
        if (next != first) {
            first.addSuppressed(next);
        }
        return first;
    }

    private IllegalStateException closedException() {
        return new IllegalStateException("Pool '" + this.name + "' is closed");
    }

    private static long saturatedNanos(Duration duration) {
        try {
            return duration.toNanos();
        }
        catch (ArithmeticException ex) {
            return Long.MAX_VALUE;
        }
    }

    public String toString() {
        long counts = this.counts;
        return "Pool[" + this.name + ", size=" + sizeOf(counts) + ", max-size=" + maxOf(counts) + "]";
    }
}
