package io.pivotpool.distributed;

import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolStats;

/**
 * This instance's share of one pool's cluster-wide cap, and the rules that keep the pool inside it.
 *
 * <p>The invariant: the pool's size limit never exceeds what the coordinator has granted this
 * instance and still holds for it. Hence the order of every change. To shrink, the limit is
 * lowered first ({@link Pool#setMaxSize} is exact: no borrow takes the pool above it once it
 * returns), and the grant is given back only once the objects alive have fallen to the new limit.
 * To grow, the coordinator is asked first, and the limit is raised only to what it granted
 * atomically. The grant lives at the coordinator for {@code ttl} from the moment the request
 * reached it, which is no earlier than the moment it was sent; this instance trusts it only until
 * {@code sentAt + ttl - margin} on its monotonic clock. Past that deadline without a renewal it is
 * {@linkplain #checkDeadline partitioned}: it lowers the limit to its partition size before the
 * coordinator can hand the share to another instance (unless the process itself is paused, which
 * no local clock can prevent; the README states the bound).
 *
 * <p>Threads: the manager's synchronising thread runs the rounds, its deadline thread checks
 * {@link #checkDeadline}, the endpoint reads {@link #status()}. Every change is made under
 * {@link #lock}, which no borrower ever takes: borrowers only meet the pool's limit.
 */
final class CapacityShare {

    /** Rounds over which the demand's peak is kept, so that a burst between two rounds is not forgotten. */
    private static final int DEMAND_WINDOW = 2;

    private final Pool<?> pool;

    private final GlobalCapacity capacity;

    private final int localMaxSize;

    /**
     * The most this instance may ever hold: its max-size, or its partition size when the requested
     * backend could not be used and the no-op coordinator, which knows no other instance, runs
     * instead.
     */
    private final int ceiling;

    private final ReentrantLock lock = new ReentrantLock();

    // ---- guarded by lock ----

    private int grant;

    private boolean granted;

    private int target = -1;

    private int limit;

    private long trustedUntil;

    private boolean partitioned;

    /**
     * Whether the last round's request reached the coordinator. After a failed round this instance
     * only renews what it had before it grows: if the backend lost its data meanwhile, every other
     * connected instance re-records its own grant within that round, so nobody is granted a share
     * that another instance still uses.
     */
    private boolean renewedLastRound;

    /**
     * Whether and when (monotonic nanos) the target last rose above the grant, or the leader last
     * raised a grant still below it: {@link #growthMayWait}.
     */
    private boolean targetRose;

    private long targetRoseAt;

    /**
     * Whether this share asked for nothing at first, leaving its first grant to the leader
     * ({@link #askedNothingFirst}), and until when (monotonic nanos) it waits for a target before
     * it asks for a fair share on its own.
     */
    private boolean awaitsFirstTarget;

    private long firstTargetDueBy;

    /** Whether this round's request lets the leader raise the grant: {@link #growthMayWait}. */
    private boolean waiting;

    /** Whether growth is held back until {@link #growthHeldUntil} (monotonic nanos): see {@link #granted}. */
    private boolean growthHeld;

    private long growthHeldUntil;

    /**
     * Until when (monotonic nanos) a share that was partitioned stays partitioned although granted
     * again: see {@link #granted}. Meaningful only while {@link #partitionHeld}.
     */
    private long partitionHeldUntil;

    private boolean partitionHeld;

    private boolean retired;

    private final int[] demandWindow = new int[DEMAND_WINDOW];

    private int demandRound;

    private long lastTimeouts;

    private int demand;

    private Map<String, Integer> distribution = Map.of();

    // ---- published ----

    private volatile PoolCapacity status;

    CapacityShare(Pool<?> pool, GlobalCapacity capacity, boolean fellBack) {
        this.pool = pool;
        this.capacity = capacity;
        this.localMaxSize = pool.settings().maxSize();
        this.ceiling = fellBack ? capacity.partitionSize() : this.localMaxSize;
        this.limit = pool.maxSize();
        this.lastTimeouts = pool.stats().timeouts();
        publish();
    }

    Pool<?> pool() {
        return this.pool;
    }

    String name() {
        return this.pool.name();
    }

    GlobalCapacity capacity() {
        return this.capacity;
    }

    PoolCapacity status() {
        return this.status;
    }

    /**
     * Samples the pool once per round and returns this instance's report: the peak of (borrowed +
     * waiting) over the last rounds, raised to the limit plus the borrows turned away when some
     * gave up since the last round (an overflow {@code FAIL} pool has nobody waiting to count).
     */
    CapacityRecords.Demand sampleDemand() {
        PoolStats stats = this.pool.stats();
        this.lock.lock();
        try {
            long turnedAway = stats.timeouts() - this.lastTimeouts;
            this.lastTimeouts = stats.timeouts();
            long now = (long) stats.active() + stats.waiting();
            if (turnedAway > 0) {
                now = Math.max(now, stats.maxSize() + turnedAway);
            }
            this.demandWindow[this.demandRound++ % DEMAND_WINDOW] = (int) Math.min(now, Integer.MAX_VALUE);
            int peak = 0;
            for (int sample : this.demandWindow) {
                peak = Math.max(peak, sample);
            }
            this.demand = peak;
            publish();
            return new CapacityRecords.Demand(peak, this.localMaxSize, this.grant);
        }
        finally {
            this.lock.unlock();
        }
    }

    /**
     * A follower's target, read back from the coordinator: taken only from the current term, the
     * one this round read as leading. Not compared with terms seen before: after lost writes (a
     * fail-over to a replica that missed them) a deposed term can resume with a token below one
     * this instance already followed or held, and refusing that leader's targets would leave this
     * instance on a stale target for good, holding a share nobody can move (found by the
     * simulation, seed 167254). Targets only steer; grants keep the cap.
     */
    boolean acceptTarget(CapacityRecords.Target written, long currentTerm, long now) {
        this.lock.lock();
        try {
            if (written.fencingToken() != currentTerm) {
                return false;
            }
            noteTargetRise(written.target(), now);
            this.target = written.target();
            publish();
            return true;
        }
        finally {
            this.lock.unlock();
        }
    }

    /**
     * The leader's own target, and the whole distribution it computed, for the status. The term is
     * no longer needed here (see {@link #acceptTarget}); the parameter stays until the leader's
     * round, which is being reworked on main, can stop passing it.
     */
    void leaderTarget(int target, long term, Map<String, Integer> distribution, long now) {
        this.lock.lock();
        try {
            noteTargetRise(target, now);
            this.target = target;
            this.distribution = PoolCapacity.sorted(distribution);
            publish();
        }
        finally {
            this.lock.unlock();
        }
    }

    private void noteTargetRise(int target, long now) {
        if (target > this.target && target > this.grant) {
            this.targetRose = true;
            this.targetRoseAt = now;
        }
    }

    /**
     * Whether this share's growth may wait for the leader to raise its grant
     * ({@link io.pivotpool.coordinator.Coordinator#growGrants}): its target rose above its grant,
     * or the leader raised its grant while it waited, less than {@code windowNanos} before
     * {@code now}. After that it grows at its own requests.
     */
    boolean growthMayWait(long now, long windowNanos) {
        this.lock.lock();
        try {
            this.waiting = this.targetRose && this.grant < this.target && now - this.targetRoseAt < windowNanos;
            return this.waiting;
        }
        finally {
            this.lock.unlock();
        }
    }

    /**
     * The first request asked for nothing, for the leader to raise once its rebalance gives this
     * share a target. Until {@code dueBy} (monotonic nanos) the share renews what it holds, as any
     * share without a target does; if no target came by then (a leader that does not know this
     * pool, or that never rebalances), it asks for a fair share on its own, as a newcomer that asked
     * at once would have.
     */
    void askedNothingFirst(long dueBy) {
        this.lock.lock();
        try {
            this.awaitsFirstTarget = true;
            this.firstTargetDueBy = dueBy;
        }
        finally {
            this.lock.unlock();
        }
    }

    /** No longer leading: the distribution shown is no longer this instance's to show. */
    void forgetDistribution() {
        this.lock.lock();
        try {
            if (!this.distribution.isEmpty()) {
                this.distribution = Map.of();
                publish();
            }
        }
        finally {
            this.lock.unlock();
        }
    }

    /**
     * What to ask the coordinator for this round, after lowering the limit if this instance must
     * shrink. Without a target yet: the last grant (a renewal), or for a newcomer a fair share of
     * the members it saw, unless it left its first grant to the leader ({@link #askedNothingFirst})
     * and is still within the time it waits for a target. While growth is held back (after a
     * failed round, or after the backend forgot this instance's grant) it only renews.
     */
    int prepareRequest(int membersSeen, long now) {
        this.lock.lock();
        try {
            int desired = desired(membersSeen, now);
            if (this.growthHeld && now - this.growthHeldUntil >= 0) {
                this.growthHeld = false;
            }
            if (this.granted && (!this.renewedLastRound || this.growthHeld)) {
                desired = Math.min(desired, this.grant);
            }
            if (!this.granted) {
                // An existing pool registered with addPool: never above what may be granted.
                if (this.limit > desired) {
                    setLimit(desired);
                }
                return desired;
            }
            if (desired >= this.grant) {
                return desired;
            }
            if (this.limit > desired) {
                setLimit(desired);
            }
            // Give back only what is no longer alive: until then, renew the grant as it is.
            return (this.pool.stats().size() <= desired) ? desired : this.grant;
        }
        finally {
            this.lock.unlock();
        }
    }

    private int desired(int membersSeen, long now) {
        int desired;
        if (this.target >= 0) {
            desired = Math.min(this.target, this.localMaxSize);
        }
        else if (this.awaitsFirstTarget && now - this.firstTargetDueBy < 0) {
            // Left to the leader (askedNothingFirst): renew what it holds, nothing at first.
            desired = this.granted ? this.grant : 0;
        }
        else if (this.granted && !this.awaitsFirstTarget) {
            desired = this.grant;
        }
        else {
            int fairShare = this.capacity.globalMaxSize() / Math.max(1, membersSeen);
            desired = Math.min(this.localMaxSize, Math.max(1, fairShare));
        }
        return Math.min(desired, this.ceiling);
    }

    /**
     * The coordinator recorded {@code granted} for a request sent at {@code sentAt}, whose reply
     * is handled at {@code now}. The limit becomes the grant, or less while the pool still drains
     * towards a lower target, but never more than this instance may still trust:
     * <ul>
     * <li>a reply handled after the grant's local deadline raises nothing: the share stays (or
     * becomes) partitioned, since the backend may already have handed that share to another;
     * <li>a grant the backend did not renew (it had forgotten the previous one: expiry or lost
     * data) is trusted only up to what this instance held before, and growth is held back for
     * {@code holdNanos}, long enough for every other live holder to renew what it holds or to
     * partition itself; only then can the backend's view be trusted to count everything alive.
     * <li>a share that was partitioned when such a reply came stays partitioned for that hold: what
     * it kept while cut off (its partition size) was backed by no recorded grant, since the
     * backend may have handed its share to others meanwhile; if the backend then forgot their
     * grants too (data lost), "up to what it held" would turn that overshoot into a grant while
     * the others still use theirs. Staying partitioned keeps it within the partition bound until
     * every other holder has renewed or partitioned itself.
     * </ul>
     *
     * @return false if the share was retired meanwhile: the caller gives the grant back
     */
    boolean granted(int granted, int requested, boolean renewed, long sentAt, long now, long trustNanos,
            long holdNanos) {
        this.lock.lock();
        try {
            if (this.retired) {
                return false;
            }
            int trusted = granted;
            if (this.granted && !renewed) {
                this.growthHeld = true;
                this.growthHeldUntil = now + holdNanos;
                trusted = Math.min(granted, this.grant);
                if (this.partitioned) {
                    this.partitionHeld = true;
                    this.partitionHeldUntil = this.growthHeldUntil;
                }
            }
            if (this.waiting && trusted > this.grant && trusted < this.target) {
                // Raised by the leader while waiting, and not yet to the target: the leader is
                // raising as capacity is given back, so this share waits a window longer rather
                // than race the others for the rest (a deploy's holders whose wait ran out while
                // the leader still raised them lost 10,082 transactions: BENCHMARKS.md, round fifteen).
                this.targetRoseAt = now;
            }
            this.waiting = false;
            if (this.awaitsFirstTarget && sentAt - this.firstTargetDueBy >= 0) {
                // Asked for a fair share on its own (see desired): from now on it renews what it holds.
                this.awaitsFirstTarget = false;
            }
            this.grant = trusted;
            this.granted = true;
            this.renewedLastRound = true;
            this.trustedUntil = sentAt + trustNanos;
            if (this.partitionHeld && now - this.partitionHeldUntil >= 0) {
                this.partitionHeld = false;
            }
            if (now - this.trustedUntil >= 0 || (this.partitioned && this.partitionHeld)) {
                enterPartition();
                return true;
            }
            this.partitioned = false;
            setLimit(Math.min(trusted, Math.min(requested, desiredLimitCeiling())));
            publish();
            return true;
        }
        finally {
            this.lock.unlock();
        }
    }

    /** While shrinking the limit stays at the target; otherwise nothing below the grant limits it. */
    private int desiredLimitCeiling() {
        int ceiling = (this.target >= 0) ? Math.min(this.target, this.localMaxSize) : this.localMaxSize;
        return Math.min(ceiling, this.ceiling);
    }

    /** A round failed before or during this share's request: the next one renews before it grows. */
    void roundFailed() {
        this.lock.lock();
        try {
            this.renewedLastRound = false;
        }
        finally {
            this.lock.unlock();
        }
    }

    /**
     * Enters partition mode if the grant can no longer be trusted at {@code now}: from then on the
     * pool holds at most {@code min(partition-size, last grant)}.
     *
     * @return whether this call entered partition mode
     */
    boolean checkDeadline(long now) {
        this.lock.lock();
        try {
            if (this.retired || this.partitioned || !this.granted || now - this.trustedUntil < 0) {
                return false;
            }
            enterPartition();
            return true;
        }
        finally {
            this.lock.unlock();
        }
    }

    /**
     * A newcomer whose first request failed: it has no grant to trust, so it holds nothing until
     * the coordinator answers.
     */
    void firstRequestFailed() {
        this.lock.lock();
        try {
            if (!this.granted && !this.partitioned) {
                enterPartition();
            }
        }
        finally {
            this.lock.unlock();
        }
    }

    private void enterPartition() {
        this.partitioned = true;
        setLimit(Math.min(this.limit, Math.min(this.capacity.partitionSize(), this.grant)));
        publish();
    }

    boolean partitioned() {
        return this.status.partitioned();
    }

    /**
     * Stops following grants for good (the manager is closing): the limit drops to zero, and a
     * round still in flight can no longer raise it.
     *
     * @return whether nothing is alive any more, so that the grant may be given back
     */
    boolean retire() {
        this.lock.lock();
        try {
            this.retired = true;
            setLimit(0);
            return this.pool.stats().size() == 0;
        }
        finally {
            this.lock.unlock();
        }
    }

    private void setLimit(int newLimit) {
        this.limit = newLimit;
        this.pool.setMaxSize(newLimit);
        publish();
    }

    /**
     * The pool's name's hash instead of the identity hash, so that the manager's maps keyed by
     * share (the leader's plans, the grants given back on close) iterate in the same order in
     * every run: the simulation replays a schedule from its seed only if the coordinator calls come
     * in the same order. Equality stays identity.
     */
    @Override
    public int hashCode() {
        return this.pool.name().hashCode();
    }

    @Override
    public boolean equals(Object other) {
        return this == other;
    }

    private void publish() {
        this.status = new PoolCapacity(this.capacity.globalMaxSize(), this.capacity.partitionSize(), this.grant,
                this.target, this.demand, this.limit, this.partitioned, this.distribution);
    }
}
