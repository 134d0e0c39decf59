package io.pivotpool.pool;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.jspecify.annotations.Nullable;
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
 *
 * <h2>Around the engine</h2> What is off the borrow and return paths lives beside it, as Stormpot
 * keeps its allocator apart from the pool: {@link Housekeeper} (evict, inspect, replenish, reap
 * after close) on its own thread, and {@link WaitQueue} (waiting and hand-off). Both change the
 * pool only through the engine's create, publish and destroy paths, so the accounting above has
 * one home. Objects are made in one place, {@link #newObject}, pooled or not.
 */
final class PoolEngine<T> {

    private static final Logger logger = LoggerFactory.getLogger(Pool.class);

    private static final int MAX_PUBLISH_ATTEMPTS = 3;

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

    private final WaitQueue<T> waiters = new WaitQueue<>(this);

    private final Housekeeper<T> housekeeper;

    private final LongAdder created = new LongAdder();

    private final LongAdder destroyed = new LongAdder();

    private final LongAdder timeouts = new LongAdder();

    private final LongAdder overflowCreated = new LongAdder();

    private final LongAdder creationFailures = new LongAdder();

    private final LongAdder leaks = new LongAdder();

    /** Borrows counted by slots that have since been destroyed, and by unpooled objects. */
    private final LongAdder retiredBorrows = new LongAdder();

    /** The largest borrow count stats() has reported, so that the count never goes backwards. */
    private final AtomicLong borrowsReported = new AtomicLong();

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
        this.tracksLeaks = settings.leakDetectionThreshold().toNanos() > 0;
        this.plainBorrow = !this.validates && !this.checksLifetimeOnBorrow && !this.tracksLeaks;
        this.borrowTimeoutNanos = settings.borrowTimeout().toNanos();
        this.overflow = settings.overflow();
        this.emergencyLimit = settings.emergencyLimit();
        if (initialMaxSize < 0 || initialMaxSize > settings.maxSize()) {
            throw new IllegalArgumentException("initial max-size must be between 0 and max-size ("
                    + settings.maxSize() + "), was " + initialMaxSize);
        }
        this.counts = (long) initialMaxSize << MAX_SHIFT;
        this.attention = this.tracksLeaks ? TRACKING_LEAKS : 0;
        this.housekeeper = new Housekeeper<>(this, settings, housekeeping);
        this.housekeeper.start();
    }

    public String name() {
        return this.name;
    }

    public PoolSettings settings() {
        return this.settings;
    }

    // ---- borrow ------------------------------------------------------------------------------

    // borrowSlow answers null only when told not to throw on timeout; these two tell it to.
    @SuppressWarnings("NullAway")
    Lease<T> borrow(SlotCache<T> cache) {
        Slot<T> slot = claimCached(cache);
        return (slot != null) ? slot : borrowSlow(cache, this.borrowTimeoutNanos, true);
    }

    @SuppressWarnings("NullAway")
    Lease<T> borrow(SlotCache<T> cache, Duration timeout) {
        Objects.requireNonNull(timeout, "timeout must not be null");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must not be negative, was " + timeout);
        }
        Slot<T> slot = claimCached(cache);
        return (slot != null) ? slot : borrowSlow(cache, saturatedNanos(timeout), true);
    }

    @Nullable Lease<T> tryBorrow(SlotCache<T> cache) {
        Slot<T> slot = claimCached(cache);
        return (slot != null) ? slot : borrowSlow(cache, 0, false);
    }

    /**
     * The fast path: one CAS on the slot this thread used last, then one read of the attention
     * word (see {@link #keepClaimed}).
     */
    private @Nullable Slot<T> claimCached(SlotCache<T> cache) {
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

    void trackBorrow(Slot<T> slot) {
        if (this.tracksLeaks) {
            // borrowedAt before the site: the housekeeper reads the site first (see Housekeeper.inspect)
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

    private @Nullable Lease<T> borrowSlow(SlotCache<T> cache, long timeoutNanos, boolean throwWhenExhausted) {
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
    @Nullable Slot<T> claimIdleOrCreate(SlotCache<T> cache) {
        Slot<T> slot = claimIdle(cache);
        return (slot != null) ? slot : create(cache, false);
    }

    private @Nullable Slot<T> claimIdle(SlotCache<T> cache) {
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

    private @Nullable Slot<T> overflow(SlotCache<T> cache, long timeoutNanos, boolean throwWhenExhausted) {
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
        return this.waiters.await(cache, timeoutNanos, throwWhenExhausted);
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

    @Nullable Slot<T> exhausted(long waitedNanos, boolean throwWhenExhausted) {
        if (!throwWhenExhausted) {
            return null;
        }
        this.timeouts.increment();
        long counts = this.counts;
        throw new PoolExhaustedException(this.name, sizeOf(counts), maxOf(counts), Duration.ofNanos(waitedNanos));
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
    void publish(Slot<T> slot) {
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
    @Nullable Slot<T> create(SlotCache<T> cache, boolean elastic) {
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
        T object = newObject(true);
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

    /*
     * The one way an object is made, pooled or not. Whatever the factory throws, Errors included,
     * is counted as a creation failure and gives back the room reserved for it (a pooled object's
     * size was reserved before the call; see counts), and a waiter is told to retry; an Error is
     * rethrown as it is and anything else is wrapped in a PoolException.
     */
    T newObject(boolean reserved) {
        T object;
        try {
            object = this.factory.get();
            if (object == null) {
                throw new NullPointerException("the factory returned null");
            }
        }
        catch (Throwable ex) {
            if (reserved) {
                COUNTS.getAndAdd(this, -ONE_OBJECT);
            }
            this.creationFailures.increment();
            if (reserved) {
                signalWaiter();
            }
            if (ex instanceof Error error) {
                throw error;
            }
            throw new PoolException(this.name, "could not create " + (reserved ? "an object" : "a fallback object")
                    + ": " + ex.getMessage(), ex);
        }
        this.created.increment();
        return object;
    }

    private Slot<T> createUnpooled() {
        T object = newObject(false);
        this.overflowCreated.increment();
        Slot<T> slot = new Slot<>(this, object, SlotHotFields.CLAIMED, true);
        trackBorrow(slot);
        return slot;
    }

    boolean addSlot(Slot<T> slot) {
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
        return waiterCount() != 0 && this.waiters.handOff(slot);
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
    void destroy(Slot<T> slot) {
        COUNTS.getAndAdd(this, ONE_DOOMED);
        finishDestroy(slot);
    }

    /**
     * Destroys a held slot if the pool keeps more objects than its limit (max-size, or with
     * {@code elasticHeadroom} the elastic ceiling); false, and the slot still held, if not.
     */
    boolean destroyIfExcess(Slot<T> slot, boolean elasticHeadroom) {
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
            this.waiters.wakeHead();
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
            this.housekeeper.evictIdleWhileOverLimit();
            this.housekeeper.sweepAgainSoonIfOverLimit();
        }
        else if (maxSize > previous) {
            this.waiters.wakeAll();
        }
    }

    boolean keepsTooMany() {
        long counts = this.counts;
        return keptOf(counts) > maxOf(counts);
    }

    /** Objects the pool keeps: size without those being destroyed. */
    int kept() {
        return keptOf(this.counts);
    }

    /** Adds one to size if size is below min(min-idle, max-size) in the same snapshot; false if not. */
    boolean reserveBelowMinIdle(int minIdle) {
        for (;;) {
            long counts = this.counts;
            if (sizeOf(counts) >= Math.min(minIdle, maxOf(counts))) {
                return false;
            }
            if (COUNTS.compareAndSet(this, counts, counts + ONE_OBJECT)) {
                return true;
            }
        }
    }

    /** A waiter counts itself (+1) after queueing and uncounts itself (-1) when done (see WaitQueue.await). */
    void addWaiters(int delta) {
        ATTENTION.getAndAdd(this, delta);
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
    void refreshOverLimitFlag() {
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

    // ---- housekeeping (see Housekeeper) -------------------------------------------------------

    /** One housekeeping tick, for pools without a housekeeper thread (model checking). */
    void housekeep() {
        this.housekeeper.housekeep();
    }

    Slot<T>[] slots() {
        return this.slots;
    }

    boolean isClosed() {
        return this.closed;
    }

    /** The closing flag or the closed flag: a claim or grant that sees it gives its object up. */
    boolean isClosing() {
        return (this.attention & CLOSING) != 0 || this.closed;
    }

    boolean isElastic() {
        return this.overflow == Overflow.ELASTIC;
    }

    void countLeak() {
        this.leaks.increment();
    }

    // ---- stats and close ---------------------------------------------------------------------

    void setWaitListener(Pool.@Nullable WaitListener listener) {
        this.waiters.setListener(listener);
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
                this.creationFailures.sum(), this.leaks.sum(), this.waiters.snapshot(borrows + timeouts));
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
        this.housekeeper.stopTicks();
        this.waiters.wakeAll();
        Throwable failure = this.housekeeper.reap(null);
        failure = this.housekeeper.reapUntilEmpty(failure);
        if (failure instanceof Error error) {
            throw error;
        }
        if (failure instanceof RuntimeException exception) {
            throw exception;
        }
    }

    IllegalStateException closedException() {
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
