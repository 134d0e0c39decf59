package io.pivotpool.distributed.simulation;

import java.time.Duration;

import io.pivotpool.pool.Lease;
import io.pivotpool.pool.Overflow;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolSettings;
import io.pivotpool.pool.PoolStats;
import io.pivotpool.pool.WaitTimeStats;

/**
 * A capped pool as the protocol sees it, reduced to counts: objects borrowed, idle and waited for,
 * with {@link #setMaxSize}'s promises of the real engine (no object is created above the limit;
 * shrinking destroys idle objects at once and borrowed ones as they come back). The real engine
 * starts a housekeeper thread and reads {@code System.nanoTime()}, which a deterministic
 * single-threaded simulation cannot have; its exactness under concurrency is proved by
 * {@code PoolExactLimitsTests} and {@code PoolLincheckTests}, so here only the counts matter.
 *
 * <p>Borrowers are the simulation's workload: {@link #setDemand} says how many objects this
 * instance's borrowers want at once. A borrower holding an object above a lowered limit returns
 * it within the README's premise ("borrowers return objects within the margin"): the simulation
 * calls {@link #returnExcess()} a seeded delay after the limit fell, unless the process is paused.
 */
final class SimulatedPool implements Pool<Object> {

    /** Told when the limit fell below what is borrowed, so that the excess is returned later. */
    interface OverLimitListener {
        void overLimit(SimulatedPool pool);
    }

    /**
     * Set by every change of size or limit (the manager changes the partitioned flag only with the
     * limit), so that the invariant check re-reads this pool's share only after it changed.
     */
    boolean changed = true;

    private final String name;

    private final PoolSettings settings;

    private final OverLimitListener overLimit;

    private int limit;

    private int active;

    private int idle;

    private int wanted;

    SimulatedPool(String name, int localMaxSize, int initialLimit, OverLimitListener overLimit) {
        this.name = name;
        this.settings = PoolSettings.builder().maxSize(localMaxSize).overflow(Overflow.WAIT).build();
        this.limit = initialLimit;
        this.overLimit = overLimit;
    }

    int size() {
        return this.active + this.idle;
    }

    int active() {
        return this.active;
    }

    int wanted() {
        return this.wanted;
    }

    /** Borrowers now want {@code demand} objects at once: some return theirs, or more wait. */
    void setDemand(int demand) {
        this.changed = true;
        while (this.active > demand) {
            this.active--;
            if (size() >= this.limit) {
                // size() counts the returned object no more once destroyed
                continue;
            }
            this.idle++;
        }
        this.wanted = demand;
        serve();
    }

    /** The borrowers above the limit return their objects (destroyed) and wait again. */
    void returnExcess() {
        this.changed = true;
        while (size() > this.limit && this.active > 0) {
            this.active--;
        }
        serve();
    }

    private void serve() {
        while (this.wanted > this.active) {
            if (this.idle > 0 && size() <= this.limit) {
                this.idle--;
                this.active++;
            }
            else if (size() < this.limit) {
                this.active++;
            }
            else {
                break;
            }
        }
    }

    @Override
    public void setMaxSize(int maxSize) {
        if (maxSize < 0 || maxSize > PoolSettings.LARGEST_MAX_SIZE) {
            throw new IllegalArgumentException("maxSize " + maxSize);
        }
        this.limit = maxSize;
        this.changed = true;
        while (size() > this.limit && this.idle > 0) {
            this.idle--;
        }
        serve();
        if (size() > this.limit) {
            this.overLimit.overLimit(this);
        }
    }

    @Override
    public int maxSize() {
        return this.limit;
    }

    @Override
    public PoolStats stats() {
        return new PoolStats(this.name, size(), this.idle, this.active, this.wanted - this.active, this.limit, 0, 0,
                0, 0, 0, 0, 0, new WaitTimeStats(0, 0, 0, 0, 0, 0, 0));
    }

    @Override
    public PoolSettings settings() {
        return this.settings;
    }

    @Override
    public String name() {
        return this.name;
    }

    /** The process crashed: its objects die with it. */
    void discard() {
        this.active = 0;
        this.idle = 0;
        this.wanted = 0;
    }

    @Override
    public Lease<Object> borrow() {
        throw new UnsupportedOperationException("the simulation borrows through setDemand");
    }

    @Override
    public Lease<Object> borrow(Duration timeout) {
        throw new UnsupportedOperationException("the simulation borrows through setDemand");
    }

    @Override
    public Lease<Object> tryBorrow() {
        throw new UnsupportedOperationException("the simulation borrows through setDemand");
    }

    @Override
    public void setWaitListener(WaitListener listener) {
    }

    @Override
    public void close() {
        setMaxSize(0);
    }

    @Override
    public String toString() {
        return this.name + "[limit " + this.limit + ", active " + this.active + ", idle " + this.idle + ", wanted "
                + this.wanted + "]";
    }
}
