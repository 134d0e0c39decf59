package io.pivotpool.distributed.simulation;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.distributed.LeadershipListener;
import io.pivotpool.distributed.PoolCapacity;
import io.pivotpool.distributed.SimulationAccess;

/**
 * One application instance: a real {@link DistributedPoolManager} on this process's drifting
 * monotonic clock and on simulated threads, its capped pools and its borrowers. A process can be
 * paused (its events wait; its clock runs on), cut off from the network, crashed (its objects die
 * with it) or stopped gracefully (the manager closes, the borrowers return what they hold, then it
 * exits). A restart is a new process with a new id.
 */
final class SimulatedProcess implements SimulationAccess.SimulatedThreads {

    private final Simulation simulation;

    private final String label;

    private final InstanceInfo self;

    /** Clock rate error in parts per million, within the stated bound. */
    private final long driftPpm;

    private final long clockBase;

    private final List<SimulatedPool> pools = new ArrayList<>();

    private DistributedPoolManager manager;

    private long pausedUntil = Long.MIN_VALUE;

    private long resumedAt = Long.MIN_VALUE;

    /** Per pool, what the pause rule lets it hold beyond the cap: see {@link #pause}. */
    private int[] frozenSizes;

    /**
     * Per pool, what the partition bound allows this instance beyond the cap: min(partition-size,
     * last grant) from the moment it is seen partitioned until it is no longer partitioned and holds
     * no more than its limit (objects borrowed while cut off count until they come back).
     */
    private int[] partitionAllowances;

    private long cutOffUntil = Long.MIN_VALUE;

    private boolean crashed;

    private boolean stopping;

    private int callsInFlight;

    private long[] firstGrantAt;

    private LeaderLease announced;

    private long lastAnnouncedToken;

    SimulatedProcess(Simulation simulation, String label, long driftPpm, long clockBase) {
        this.simulation = simulation;
        this.label = label;
        this.self = new InstanceInfo(label, "sim", 0, Map.of());
        this.driftPpm = driftPpm;
        this.clockBase = clockBase;
    }

    String label() {
        return this.label;
    }

    long nanoClock() {
        long now = this.simulation.loop().now();
        return this.clockBase + now + now * this.driftPpm / 1_000_000;
    }

    /** Starts the manager and caps its pools (the first addPool starts the rounds). */
    void start(int[] localMaxSizes) {
        Clock wallClock = new Clock() {
            @Override
            public ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return Instant.ofEpochMilli(1_795_000_000_000L + SimulatedProcess.this.nanoClock() / 1_000_000);
            }
        };
        this.manager = SimulationAccess.manager(new SimulatedCoordinator(this.simulation, this), this.simulation.settings(),
                this.self, this::nanoClock, wallClock, this);
        if (this.simulation.mutant() == SimulatedBackend.Mutant.NON_MEMBER_GRANTS_REAPED_AT_ONCE) {
            SimulationAccess.reapNonMemberGrantsAfter(this.manager, -1);
        }
        this.manager.addLeadershipListener(new LeadershipListener() {
            @Override
            public void leadershipGranted(LeaderLease lease) {
                announced(lease);
            }

            @Override
            public void leadershipRevoked(LeaderLease lease) {
                revoked(lease);
            }
        });
        this.frozenSizes = new int[localMaxSizes.length];
        this.partitionAllowances = new int[localMaxSizes.length];
        this.firstGrantAt = new long[localMaxSizes.length];
        java.util.Arrays.fill(this.firstGrantAt, Long.MIN_VALUE);
        for (int i = 0; i < localMaxSizes.length; i++) {
            this.pools.add(new SimulatedPool(this.simulation.poolName(i), localMaxSizes[i], 0, this::overLimit));
        }
        for (int i = 0; i < localMaxSizes.length; i++) {
            if (this.crashed) {
                return;
            }
            this.manager.addPool(this.pools.get(i), this.simulation.capacity(i));
        }
    }

    private void announced(LeaderLease lease) {
        // The same term may be announced again (trust lapsed, then a renewal landed); a new one is larger.
        if (lease.fencingToken() < this.lastAnnouncedToken) {
            this.simulation.violated(Invariant.TOKENS_INCREASE, this.label + " was told it leads in term "
                    + lease.fencingToken() + " after term " + this.lastAnnouncedToken);
        }
        this.lastAnnouncedToken = lease.fencingToken();
        this.announced = lease;
        this.simulation.trace(this, "listeners told: leads, term " + lease.fencingToken());
    }

    private void revoked(LeaderLease lease) {
        this.announced = null;
        this.simulation.trace(this, "listeners told: no longer leads, term " + lease.fencingToken());
    }

    /** A borrower holding an object above the lowered limit returns it within the premise's delay. */
    private void overLimit(SimulatedPool pool) {
        this.simulation.afterReturnDelay(this, pool::returnExcess);
    }

    // ---- the manager's threads ------------------------------------------------------------------

    @Override
    public Runnable repeat(String threadName, long periodNanos, boolean fixedRate, Runnable task) {
        EventLoop.Task repeating = new EventLoop.Task(this, periodNanos, fixedRate) {
            @Override
            void run() {
                task.run();
            }
        };
        this.simulation.loop().schedule(this.simulation.loop().now() + periodNanos, repeating);
        return () -> repeating.cancelled = true;
    }

    // ---- faults -----------------------------------------------------------------------------------

    void pause(long nanos) {
        long now = this.simulation.loop().now();
        if (!paused()) {
            for (int i = 0; i < this.pools.size(); i++) {
                // Not only what it holds: after it resumes, its borrowers may create objects up to
                // the limit it froze with before its deadline watch runs (TESTING.md, finding 3).
                this.frozenSizes[i] = Math.max(this.pools.get(i).size(), this.pools.get(i).maxSize());
            }
        }
        this.pausedUntil = Math.max(this.pausedUntil, now + nanos);
        this.resumedAt = this.pausedUntil;
    }

    boolean paused() {
        return this.simulation.loop().now() < this.pausedUntil;
    }

    long resumesAt() {
        return this.pausedUntil;
    }

    /** Whether it was paused at some point in the last {@code nanos}. */
    boolean pausedWithin(long nanos) {
        return paused() || this.simulation.loop().now() - this.resumedAt < nanos;
    }

    void trackPartition(int pool, int partitionSize) {
        SimulatedPool local = this.pools.get(pool);
        if (!local.changed) {
            return;
        }
        local.changed = false;
        PoolCapacity share = capacity(pool);
        if (share == null) {
            return;
        }
        if (share.partitioned()) {
            this.partitionAllowances[pool] = Math.max(this.partitionAllowances[pool],
                    Math.min(partitionSize, share.grant()));
        }
        else if (this.pools.get(pool).size() <= share.limit()) {
            this.partitionAllowances[pool] = 0;
        }
    }

    int partitionAllowance(int pool) {
        return this.partitionAllowances[pool];
    }

    int frozenSize(int pool) {
        return this.frozenSizes[pool];
    }

    void cutOff(long nanos) {
        this.cutOffUntil = Math.max(this.cutOffUntil, this.simulation.loop().now() + nanos);
    }

    boolean cutOff() {
        return this.simulation.loop().now() < this.cutOffUntil;
    }

    void crash() {
        this.crashed = true;
        this.pools.forEach(SimulatedPool::discard);
    }

    boolean crashed() {
        return this.crashed;
    }

    boolean stopping() {
        return this.stopping;
    }

    /** Whether it takes part: started, not crashed, not stopping. */
    boolean live() {
        return !this.crashed && !this.stopping && this.manager != null;
    }

    /** Closes the manager (a graceful stop); false if a round is in flight and the stop must wait. */
    boolean tryStop() {
        if (this.callsInFlight > 0) {
            return false;
        }
        this.stopping = true;
        if (this.manager != null) {
            this.manager.close();
        }
        return true;
    }

    /** A grant reply of {@code pool} reached this process. */
    void granted(int pool) {
        if (this.firstGrantAt[pool] == Long.MIN_VALUE) {
            this.firstGrantAt[pool] = this.simulation.loop().now();
        }
    }

    /** When its first grant reply of {@code pool} arrived, or Long.MIN_VALUE. */
    long firstGrantAt(int pool) {
        return this.firstGrantAt[pool];
    }

    void callStarted() {
        this.callsInFlight++;
    }

    void callEnded() {
        this.callsInFlight--;
    }

    // ---- what the invariants read ---------------------------------------------------------------

    boolean trustsItLeads() {
        return this.manager != null && !this.crashed && this.manager.isLeader();
    }

    LeaderLease leadership() {
        return this.manager.leadership().orElse(null);
    }

    LeaderLease announcedLeadership() {
        return this.crashed ? null : this.announced;
    }

    PoolCapacity capacity(int pool) {
        return (this.manager != null) ? SimulationAccess.capacityOf(this.manager, this.simulation.poolName(pool))
                : null;
    }

    List<SimulatedPool> pools() {
        return this.pools;
    }

    DistributedPoolManager manager() {
        return this.manager;
    }
}
