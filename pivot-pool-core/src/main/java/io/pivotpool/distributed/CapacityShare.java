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

    private final ReentrantLock lock = new ReentrantLock();

    // ---- guarded by lock ----

    private int grant;

    private boolean granted;

    private int target = -1;

    private long targetToken;

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

    private final int[] demandWindow = new int[DEMAND_WINDOW];

    private int demandRound;

    private long lastTimeouts;

    private int demand;

    private Map<String, Integer> distribution = Map.of();

    // ---- published ----

    private volatile PoolCapacity status;

    CapacityShare(Pool<?> pool, GlobalCapacity capacity) {
        this.pool = pool;
        this.capacity = capacity;
        this.localMaxSize = pool.settings().maxSize();
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

    /** A follower's target, read back from the coordinator: taken only from the current term. */
    boolean acceptTarget(CapacityRecords.Target written, long currentTerm) {
        this.lock.lock();
        try {
            if (written.fencingToken() != currentTerm || written.fencingToken() < this.targetToken) {
                return false;
            }
            this.target = written.target();
            this.targetToken = written.fencingToken();
            publish();
            return true;
        }
        finally {
            this.lock.unlock();
        }
    }

    /** The leader's own target, and the whole distribution it computed, for the status. */
    void leaderTarget(int target, long term, Map<String, Integer> distribution) {
        this.lock.lock();
        try {
            this.target = target;
            this.targetToken = term;
            this.distribution = Map.copyOf(distribution);
            publish();
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
     * the members it saw.
     */
    int prepareRequest(int membersSeen) {
        this.lock.lock();
        try {
            int desired = desired(membersSeen);
            if (this.granted && !this.renewedLastRound) {
                desired = Math.min(desired, this.grant);
            }
            if (!this.granted || desired >= this.grant) {
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

    private int desired(int membersSeen) {
        if (this.target >= 0) {
            return Math.min(this.target, this.localMaxSize);
        }
        if (this.granted) {
            return this.grant;
        }
        int fairShare = this.capacity.globalMaxSize() / Math.max(1, membersSeen);
        return Math.min(this.localMaxSize, Math.max(1, fairShare));
    }

    /**
     * The coordinator recorded {@code granted}; the request was sent at {@code sentAt}. The limit
     * becomes the grant, or less while the pool still drains towards a lower target.
     */
    void granted(int granted, int requested, long sentAt, long trustNanos) {
        this.lock.lock();
        try {
            this.grant = granted;
            this.granted = true;
            this.renewedLastRound = true;
            this.trustedUntil = sentAt + trustNanos;
            this.partitioned = false;
            setLimit(Math.min(granted, Math.min(requested, desiredLimitCeiling())));
            publish();
        }
        finally {
            this.lock.unlock();
        }
    }

    /** While shrinking the limit stays at the target; otherwise nothing below the grant limits it. */
    private int desiredLimitCeiling() {
        return (this.target >= 0) ? Math.min(this.target, this.localMaxSize) : this.localMaxSize;
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
            if (this.partitioned || !this.granted || now - this.trustedUntil < 0) {
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
     * A newcomer whose first request failed: it has no grant to trust, so it holds no more than its
     * partition size of nothing (zero) until the coordinator answers.
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

    long trustedUntil() {
        this.lock.lock();
        try {
            return this.trustedUntil;
        }
        finally {
            this.lock.unlock();
        }
    }

    /** What this instance holds, for a graceful release: the pool first, then the grant. */
    boolean drainForRelease() {
        this.lock.lock();
        try {
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

    private void publish() {
        this.status = new PoolCapacity(this.capacity.globalMaxSize(), this.capacity.partitionSize(), this.grant,
                this.target, this.demand, this.limit, this.partitioned, this.distribution);
    }
}
