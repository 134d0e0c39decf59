package io.pivotpool.distributed.simulation;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;

import io.pivotpool.distributed.DistributedSettings;
import io.pivotpool.distributed.GlobalCapacity;
import io.pivotpool.distributed.PoolCapacity;

/**
 * One schedule: a cluster of 3 to 7 instances (real managers) on a {@link SimulatedBackend},
 * driven for a simulated horizon through a workload and faults chosen by a random seed, with the
 * {@link Invariant}s checked after every event. Everything random comes from one random seed, and
 * nothing else varies (one thread, no real clock, ordered maps), so a seed replays exactly.
 *
 * <p>Faults happen only before the quiet period at the end, whose length is the liveness bound:
 * once it has passed without faults or workload changes, the cluster must have recovered.
 */
final class Simulation {

    /** How the clocks of the instances may run off: ±1% of the simulated (server) time. */
    static final long MAX_DRIFT_PPM = 10_000;

    enum FaultKind {
        PAUSE, CRASH, STOP, CUT_OFF, SERVER_RESTART_KEEPING_DATA, SERVER_RESTART_LOSING_DATA, LOSSY_FAIL_OVER, EVICT_KEY
    }

    /**
     * One planned fault. {@code target} picks among the live processes at that time;
     * {@code restartAfterNanos} ≥ 0 restarts a crashed or stopped instance under a new id.
     */
    record Fault(int index, long at, FaultKind kind, int target, long durationNanos, long restartAfterNanos) {

        long endsAt() {
            return this.at + Math.max(this.durationNanos, 0) + Math.max(this.restartAfterNanos, 0);
        }
    }

    /** What a run found. */
    record Outcome(long seed, Invariant broken, String detail, long atNanos, List<String> timeline,
            List<Fault> faults, long events, int grantsOfNonMembersReaped, boolean raising, int grantsRaised) {

        boolean failed() {
            return this.broken != null;
        }
    }

    private final long seed;

    private final SimulatedBackend.Mutant mutant;

    private final Set<Integer> dropped;

    private final boolean tracing;

    private final long horizonNanos;

    private final SplittableRandom planRandom;

    private final SplittableRandom networkRandom;

    private final SplittableRandom workloadRandom;

    private final EventLoop loop;

    private final SimulatedBackend backend;

    private final DistributedSettings settings;

    private final SimulatedCoordinator.Network network;

    private final GlobalCapacity[] capacities;

    private final String[] poolNames;

    private final List<SimulatedProcess> processes = new ArrayList<>();

    private final List<Fault> faults = new ArrayList<>();

    private final List<String> timeline;

    private final long quietNanos;

    private final long deadlinePeriodNanos;

    private final long returnDelayMaxNanos;

    private int nextProcess;

    private long lossyFailOverAt = Long.MIN_VALUE;

    /** When the backend lost grants, and when it answered again: {lostAt, upAt} per loss. */
    private final List<long[]> grantLosses = new ArrayList<>();

    /**
     * Whether the known gap is checked too: a newcomer's first grant after the backend forgot the
     * grants in use (see TESTING.md, finding 1). Off by default so that the suite guards everything
     * else; {@code -Dsim.strictDataLoss=true}, or the test that shows the gap, turns it on.
     */
    private final boolean strictAfterDataLoss = Boolean.getBoolean("sim.strictDataLoss");

    private boolean strictOverride;

    /**
     * Whether an eviction may pick the leader key as well (finding 2 in TESTING.md): Redis under a
     * {@code volatile-*} or {@code allkeys-*} maxmemory policy may evict it, keeping the term
     * counter. Off in the suite, which models a server that evicts only the other keys;
     * {@code -Dsim.evictLeaderKey=true} turns it on for a replay.
     */
    private boolean evictLeaderKey = Boolean.getBoolean("sim.evictLeaderKey");

    /**
     * Whether the leader raises grants to their targets as it does on etcd
     * ({@code Coordinator#growGrants}, called where a backend counts conflicts). Off in the main
     * suite, which models Redis; {@code -Dsim.raising=true} turns it on for a replay.
     */
    private boolean raisesGrants = Boolean.getBoolean("sim.raising");

    private Invariant broken;

    private String brokenDetail;

    private long brokenAt;

    Simulation(long seed, SimulatedBackend.Mutant mutant, Set<Integer> dropped, boolean tracing,
            long horizonNanos) {
        this.seed = seed;
        this.mutant = mutant;
        this.dropped = dropped;
        this.tracing = tracing;
        this.horizonNanos = horizonNanos;
        this.timeline = tracing ? new ArrayList<>() : null;
        SplittableRandom root = new SplittableRandom(seed);
        this.planRandom = root.split();
        this.networkRandom = root.split();
        this.workloadRandom = root.split();
        this.loop = new EventLoop(this::check);
        this.backend = new SimulatedBackend(this.loop, mutant);

        SplittableRandom plan = this.planRandom;
        Duration sync = Duration.ofMillis(500);
        Duration leaderTtl = Duration.ofMillis(1500 + 500 * plan.nextInt(4));
        Duration instanceTtl = Duration.ofMillis(1500 + 500 * plan.nextInt(4));
        Duration rebalance = Duration.ofMillis(1000 * (1 + plan.nextInt(2)));
        this.settings = DistributedSettings.builder().enabled(true).coordination("simulated").syncInterval(sync)
            .leaderTtl(leaderTtl).instanceTtl(instanceTtl).rebalanceInterval(rebalance).build();
        // As the manager computes them: the smallest trust margin, and the deadline watch's period.
        long margin = Math.min(margin(leaderTtl, sync), margin(instanceTtl, sync));
        this.deadlinePeriodNanos = Math.max(5_000_000, Math.min(margin / 4, 100_000_000));
        this.returnDelayMaxNanos = margin / 4;
        this.quietNanos = 2 * leaderTtl.toNanos() + 3 * instanceTtl.toNanos() + 2 * rebalance.toNanos()
                + 6 * sync.toNanos();

        int poolCount = 1 + plan.nextInt(2);
        this.capacities = new GlobalCapacity[poolCount];
        this.poolNames = new String[poolCount];
        for (int i = 0; i < poolCount; i++) {
            int cap = 2 + plan.nextInt(19);
            int partition = switch (plan.nextInt(3)) {
                case 0 -> 0;
                case 1 -> cap / 2;
                default -> cap;
            };
            this.capacities[i] = new GlobalCapacity(cap, partition);
            this.poolNames[i] = "pool" + i;
        }
        boolean slowNetwork = plan.nextInt(3) == 0;
        this.network = new SimulatedCoordinator.Network(250_000_000L, slowNetwork ? 0.05 : 0.005,
                slowNetwork ? 600_000_000L : 300_000_000L, slowNetwork ? 0.02 : 0.002, 0.02);

        int initial = 3 + plan.nextInt(5);
        for (int i = 0; i < initial; i++) {
            long startAt = plan.nextLong(0, 1_000_000_000L);
            addProcess(startAt);
        }
        long faultWindowEnd = horizonNanos - this.quietNanos;
        int faultCount = plan.nextInt(11);
        for (int i = 0; i < faultCount && faultWindowEnd > 1_000_000_000L; i++) {
            FaultKind kind = FaultKind.values()[plan.nextInt(FaultKind.values().length)];
            long at = plan.nextLong(500_000_000L, faultWindowEnd);
            long duration = switch (kind) {
                case PAUSE -> plan.nextBoolean() ? plan.nextLong(10_000_000L, 600_000_000L)
                        : plan.nextLong(600_000_000L, 8_000_000_000L);
                case CUT_OFF -> plan.nextLong(100_000_000L, 6_000_000_000L);
                case SERVER_RESTART_KEEPING_DATA, SERVER_RESTART_LOSING_DATA, LOSSY_FAIL_OVER ->
                    plan.nextLong(50_000_000L, 4_000_000_000L);
                case CRASH, STOP, EVICT_KEY -> 0;
            };
            long restartAfter = ((kind == FaultKind.CRASH || kind == FaultKind.STOP) && plan.nextInt(4) != 0)
                    ? plan.nextLong(0, 3_000_000_000L) : -1;
            Fault fault = new Fault(i, at, kind, plan.nextInt(1 << 20), duration, restartAfter);
            if (fault.endsAt() > faultWindowEnd) {
                continue;
            }
            long failOverLag = plan.nextLong(100_000_000L, 3_000_000_000L);
            this.faults.add(fault);
            if (!dropped.contains(i)) {
                planFault(fault, failOverLag);
            }
        }
    }

    private static long margin(Duration ttl, Duration sync) {
        long ttlNanos = ttl.toNanos();
        long syncNanos = sync.toNanos();
        return Math.min(syncNanos, (ttlNanos - syncNanos) / 2);
    }

    // ---- accessors for the processes and clients ---------------------------------------------------

    EventLoop loop() {
        return this.loop;
    }

    SimulatedBackend backend() {
        return this.backend;
    }

    SplittableRandom networkRandom() {
        return this.networkRandom;
    }

    SimulatedCoordinator.Network network() {
        return this.network;
    }

    SimulatedBackend.Mutant mutant() {
        return this.mutant;
    }

    DistributedSettings settings() {
        return this.settings;
    }

    String poolName(int pool) {
        return this.poolNames[pool];
    }

    GlobalCapacity capacity(int pool) {
        return this.capacities[pool];
    }

    /** When the quiet period begins: no fault of any kind from then on. */
    long quietFrom() {
        return this.horizonNanos - this.quietNanos;
    }

    boolean tracing() {
        return this.tracing;
    }

    boolean halted() {
        return this.broken != null;
    }

    boolean writesWereLost() {
        return this.lossyFailOverAt != Long.MIN_VALUE;
    }

    // ---- building the schedule ----------------------------------------------------------------------

    private abstract static class Once extends EventLoop.Task {

        Once(SimulatedProcess owner) {
            super(owner, 0, false);
        }
    }

    private void at(long time, SimulatedProcess owner, Runnable action) {
        this.loop.schedule(time, new Once(owner) {
            @Override
            void run() {
                action.run();
            }
        });
    }

    private SimulatedProcess addProcess(long startAt) {
        SplittableRandom plan = this.planRandom;
        String label = "i" + (this.nextProcess++);
        long drift = plan.nextLong(-MAX_DRIFT_PPM, MAX_DRIFT_PPM + 1);
        SimulatedProcess process = new SimulatedProcess(this, label, drift, plan.nextLong(0, 1L << 50));
        int[] localMaxSizes = new int[this.capacities.length];
        for (int i = 0; i < localMaxSizes.length; i++) {
            localMaxSizes[i] = 1 + plan.nextInt(this.capacities[i].globalMaxSize());
        }
        at(startAt, process, () -> {
            this.processes.add(process);
            trace(process, "starts (clock drift " + drift + " ppm, max-size " + java.util.Arrays.toString(localMaxSizes)
                    + ")");
            process.start(localMaxSizes);
            for (int i = 0; i < localMaxSizes.length; i++) {
                changeDemand(process, i);
            }
        });
        return process;
    }

    /** The borrowers of one pool want a new number of objects, then again later (until the quiet period). */
    private void changeDemand(SimulatedProcess process, int pool) {
        if (process.crashed() || process.stopping()) {
            return;
        }
        SimulatedPool target = process.pools().get(pool);
        int max = target.settings().maxSize();
        int demand = switch (this.workloadRandom.nextInt(4)) {
            case 0 -> 0;
            case 1 -> max;
            default -> this.workloadRandom.nextInt(max + 1);
        };
        target.setDemand(demand);
        trace(process, target.name() + ": borrowers want " + demand + " -> " + target);
        long next = this.loop.now() + this.workloadRandom.nextLong(200_000_000L, 5_000_000_000L);
        if (next < this.horizonNanos - this.quietNanos) {
            at(next, process, () -> changeDemand(process, pool));
        }
    }

    /** Returns objects above a lowered limit within the README's premise (less than the margin). */
    void afterReturnDelay(SimulatedProcess process, Runnable returns) {
        at(this.loop.now() + this.workloadRandom.nextLong(0, this.returnDelayMaxNanos + 1), process, returns);
    }

    private SimulatedProcess pick(int target) {
        List<SimulatedProcess> live = new ArrayList<>();
        for (SimulatedProcess process : this.processes) {
            if (process.live()) {
                live.add(process);
            }
        }
        return live.isEmpty() ? null : live.get(target % live.size());
    }

    private void planFault(Fault fault, long failOverLag) {
        Object[] snapshot = new Object[1];
        if (fault.kind() == FaultKind.LOSSY_FAIL_OVER) {
            at(Math.max(0, fault.at() - failOverLag), null, () -> snapshot[0] = this.backend.snapshot());
        }
        at(fault.at(), null, () -> {
            String what = "fault #" + fault.index() + " " + fault.kind().name().toLowerCase(Locale.ROOT);
            switch (fault.kind()) {
                case PAUSE, CUT_OFF, CRASH, STOP -> {
                    SimulatedProcess process = pick(fault.target());
                    if (process == null) {
                        return;
                    }
                    traceWorld(what + " of " + process.label() + describeDuration(fault));
                    switch (fault.kind()) {
                        case PAUSE -> process.pause(fault.durationNanos());
                        case CUT_OFF -> process.cutOff(fault.durationNanos());
                        case CRASH -> {
                            process.crash();
                            restartLater(fault);
                        }
                        default -> stop(process, fault);
                    }
                }
                case SERVER_RESTART_KEEPING_DATA, SERVER_RESTART_LOSING_DATA -> {
                    traceWorld(what + describeDuration(fault));
                    this.backend.restart(fault.durationNanos(), fault.kind() == FaultKind.SERVER_RESTART_KEEPING_DATA);
                    if (fault.kind() == FaultKind.SERVER_RESTART_LOSING_DATA) {
                        this.grantLosses.add(new long[] { this.loop.now(), this.loop.now() + fault.durationNanos() });
                    }
                }
                case LOSSY_FAIL_OVER -> {
                    traceWorld(what + " to a replica " + (failOverLag / 1_000_000) + " ms behind" + describeDuration(fault));
                    this.backend.failOver(snapshot[0], fault.durationNanos());
                    this.lossyFailOverAt = this.loop.now();
                }
                case EVICT_KEY -> {
                    String key = this.backend.evict(fault.target(), this.evictLeaderKey);
                    traceWorld(what + ": " + key);
                    if (key != null && key.startsWith("grants ")) {
                        this.grantLosses.add(new long[] { this.loop.now(), this.loop.now() });
                    }
                }
            }
        });
    }

    private void stop(SimulatedProcess process, Fault fault) {
        if (!process.tryStop()) {
            // A round is in flight: close() waits for it, as stopping the executor does.
            at(this.loop.now() + 1_000_000L, null, () -> stop(process, fault));
            return;
        }
        trace(process, "closed its manager");
        // The borrowers return what they hold, then the process exits.
        at(this.loop.now() + this.workloadRandom.nextLong(0, this.returnDelayMaxNanos + 1), process, () -> {
            process.pools().forEach(pool -> pool.setDemand(0));
            process.crash();
            trace(process, "exited");
        });
        restartLater(fault);
    }

    private void restartLater(Fault fault) {
        if (fault.restartAfterNanos() >= 0) {
            addProcess(this.loop.now() + fault.restartAfterNanos());
        }
    }

    private static String describeDuration(Fault fault) {
        return (fault.durationNanos() > 0) ? " for " + (fault.durationNanos() / 1_000_000) + " ms" : "";
    }

    // ---- running ------------------------------------------------------------------------------------

    Outcome run() {
        traceWorld("seed " + this.seed + ": " + describeSettings());
        this.loop.runUntil(this.horizonNanos);
        if (this.broken == null) {
            checkLiveness();
        }
        return new Outcome(this.seed, this.broken, this.brokenDetail, this.brokenAt, this.timeline,
                List.copyOf(this.faults), this.loop.eventsRun(), this.backend.grantsOfNonMembersReaped(),
                this.raisesGrants, this.backend.grantsRaised());
    }

    private String describeSettings() {
        StringBuilder text = new StringBuilder();
        text.append("sync ").append(this.settings.syncInterval().toMillis()).append(" ms, leader-ttl ")
            .append(this.settings.leaderTtl().toMillis()).append(" ms, instance-ttl ")
            .append(this.settings.instanceTtl().toMillis()).append(" ms, rebalance ")
            .append(this.settings.rebalanceInterval().toMillis()).append(" ms");
        for (int i = 0; i < this.capacities.length; i++) {
            text.append(", ").append(this.poolNames[i]).append(" G=").append(this.capacities[i].globalMaxSize())
                .append(" partition-size ").append(this.capacities[i].partitionSize());
        }
        if (this.raisesGrants) {
            text.append(", the leader raises grants");
        }
        if (this.mutant != null) {
            text.append(", MUTANT ").append(this.mutant);
        }
        return text.toString();
    }

    // ---- the invariants -----------------------------------------------------------------------------

    void violated(Invariant invariant, String detail) {
        if (this.broken == null) {
            this.broken = invariant;
            this.brokenDetail = detail;
            this.brokenAt = this.loop.now();
            traceWorld("INVARIANT BROKEN " + invariant + ": " + detail);
        }
    }

    /** After every event. */
    private void check() {
        if (this.broken != null) {
            return;
        }
        long now = this.loop.now();
        boolean exclusivityLost = now - this.lossyFailOverAt <= this.settings.leaderTtl().toNanos();
        checkLeaders(exclusivityLost);
        checkAnnouncedLeaders(exclusivityLost);
        // Documented (pivot-pool-redis/README.md, Limits): after lost writes the recorded grants stay
        // within the cap, but holders may use what they were granted until their next request, and
        // then return the excess; or partition themselves within instance-ttl.
        long recovery = this.settings.instanceTtl().toNanos() + this.returnDelayMaxNanos;
        boolean writesLost = now - this.lossyFailOverAt <= recovery;
        for (int pool = 0; pool < this.capacities.length && this.broken == null; pool++) {
            checkObjects(pool, writesLost || (!this.strictAfterDataLoss && !this.strictOverride
                    && newcomerAfterGrantLoss(pool, now, recovery)));
        }
        String promise = this.backend.brokenPromise();
        if (promise != null) {
            violated(Invariant.RECORDED_GRANTS_WITHIN_CAP, promise);
        }
    }

    private void checkLeaders(boolean exclusivityLost) {
        SimulatedProcess first = null;
        for (SimulatedProcess process : this.processes) {
            if (!process.trustsItLeads()) {
                continue;
            }
            if (first == null) {
                first = process;
                continue;
            }
            long a = first.leadership().fencingToken();
            long b = process.leadership().fencingToken();
            if (!exclusivityLost || a == b) {
                violated(Invariant.ONE_TRUSTED_LEADER, first.label() + " (term " + a + ") and " + process.label()
                        + " (term " + b + ") both trust that they lead");
                return;
            }
        }
    }

    private void checkAnnouncedLeaders(boolean exclusivityLost) {
        SimulatedProcess first = null;
        for (SimulatedProcess process : this.processes) {
            if (process.announcedLeadership() == null
                    || process.pausedWithin(this.deadlinePeriodNanos + this.deadlinePeriodNanos / 2)) {
                continue;
            }
            if (first == null) {
                first = process;
                continue;
            }
            long a = first.announcedLeadership().fencingToken();
            long b = process.announcedLeadership().fencingToken();
            if (!exclusivityLost || a == b) {
                violated(Invariant.ONE_ANNOUNCED_LEADER, first.label() + " (term " + a + ") and " + process.label()
                        + " (term " + b + ") were both told they lead, neither of them paused");
                return;
            }
        }
    }

    /**
     * Whether, within {@code recovery} of the backend answering again after it lost the grants,
     * some instance got its first grant of {@code pool} after the loss (finding 1 in TESTING.md).
     */
    private boolean newcomerAfterGrantLoss(int pool, long now, long recovery) {
        for (long[] loss : this.grantLosses) {
            if (now < loss[0] || now - loss[1] > recovery) {
                continue;
            }
            for (SimulatedProcess process : this.processes) {
                if (!process.crashed() && process.firstGrantAt(pool) >= loss[0]) {
                    return true;
                }
            }
        }
        return false;
    }

    int poolIndex(String name) {
        for (int i = 0; i < this.poolNames.length; i++) {
            if (this.poolNames[i].equals(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException(name);
    }

    /** The leader raises grants to their targets, as on etcd. */
    Simulation raisingGrants() {
        this.raisesGrants = true;
        return this;
    }

    boolean raisesGrants() {
        return this.raisesGrants;
    }

    /** Lets evictions pick the leader key too (the test that shows finding 2). */
    Simulation evictingLeaderKey() {
        this.evictLeaderKey = true;
        return this;
    }

    /** Checks the known gap too, whatever {@code sim.strictDataLoss} says (the test that shows it). */
    Simulation strictAfterDataLoss() {
        this.strictOverride = true;
        return this;
    }

    private void checkObjects(int pool, boolean grantsLost) {
        int cap = this.capacities[pool].globalMaxSize();
        int partitionSize = this.capacities[pool].partitionSize();
        int alive = 0;
        for (SimulatedProcess process : this.processes) {
            if (!process.crashed()) {
                SimulatedPool local = process.pools().get(pool);
                alive += local.size();
                process.trackPartition(pool, partitionSize);
            }
        }
        if (alive <= cap || grantsLost) {
            return;
        }
        int bound = cap;
        StringBuilder cutOff = new StringBuilder();
        for (SimulatedProcess process : this.processes) {
            if (process.crashed()) {
                continue;
            }
            int allowance = process.partitionAllowance(pool);
            if (process.pausedWithin(this.deadlinePeriodNanos + this.returnDelayMaxNanos)) {
                allowance = Math.max(allowance, process.frozenSize(pool));
            }
            if (allowance > 0) {
                bound += allowance;
                cutOff.append(' ').append(process.label()).append('+').append(allowance);
            }
        }
        if (alive > bound) {
            violated(Invariant.OBJECTS_WITHIN_BOUND, describeObjects(pool, alive, bound, cutOff.toString()));
        }
    }

    private String describeObjects(int pool, int alive, int bound, String cutOff) {
        StringBuilder text = new StringBuilder();
        text.append(alive).append(" objects of ").append(this.poolNames[pool]).append(" alive > bound ")
            .append(bound).append(" (G ").append(this.capacities[pool].globalMaxSize()).append(", cut off:")
            .append(cutOff.isEmpty() ? " none" : cutOff).append(");");
        for (SimulatedProcess process : this.processes) {
            if (!process.crashed()) {
                PoolCapacity share = process.capacity(pool);
                text.append(' ').append(process.label()).append(" holds ").append(process.pools().get(pool).size())
                    .append(" (grant ").append((share != null) ? share.grant() : 0).append(", limit ")
                    .append((share != null) ? share.limit() : 0)
                    .append((share != null && share.partitioned()) ? ", partitioned" : "")
                    .append(process.paused() ? ", paused" : "").append(", recorded ")
                    .append(this.backend.recordedGrant(this.poolNames[pool], process.label())).append(')');
            }
        }
        return text.toString();
    }

    private void checkLiveness() {
        List<SimulatedProcess> live = new ArrayList<>();
        for (SimulatedProcess process : this.processes) {
            if (process.live()) {
                live.add(process);
            }
        }
        if (live.isEmpty()) {
            return;
        }
        String quiet = " " + (this.quietNanos / 1_000_000) + " ms after the last fault";
        int leaders = 0;
        for (SimulatedProcess process : live) {
            leaders += process.trustsItLeads() ? 1 : 0;
        }
        if (leaders != 1) {
            violated(Invariant.LIVENESS, leaders + " leaders among " + live.size() + " live instances" + quiet);
            return;
        }
        for (int pool = 0; pool < this.capacities.length; pool++) {
            int cap = this.capacities[pool].globalMaxSize();
            int recorded = this.backend.recordedTotal(this.poolNames[pool]);
            if (recorded > cap) {
                violated(Invariant.LIVENESS, "recorded grants of " + this.poolNames[pool] + " sum to " + recorded
                        + " > " + cap);
                return;
            }
            // Every live instance keeps its minimum share of one, wanted or not (CapacityPlanner's rule 1).
            int wanted = 0;
            int served = 0;
            int idle = 0;
            for (SimulatedProcess process : live) {
                SimulatedPool local = process.pools().get(pool);
                PoolCapacity share = process.capacity(pool);
                if (share == null || share.partitioned() || (cap >= live.size() && share.grant() < 1)) {
                    violated(Invariant.LIVENESS, process.label() + " holds no usable grant of " + this.poolNames[pool]
                            + quiet + ": " + share);
                    return;
                }
                wanted += Math.min(local.wanted(), local.settings().maxSize());
                served += local.active();
                idle += (local.wanted() == 0) ? 1 : 0;
            }
            int due = Math.min(Math.max(0, cap - idle), wanted);
            if (served < due) {
                violated(Invariant.LIVENESS, this.poolNames[pool] + " serves " + served + " < min(G " + cap
                        + " - " + idle + " idle instances' minimum shares, demand " + wanted + ")" + quiet + "; "
                        + describeObjects(pool, served, cap, ""));
                return;
            }
        }
    }

    // ---- the timeline ------------------------------------------------------------------------------

    void trace(SimulatedProcess process, String what) {
        if (this.tracing) {
            this.timeline.add(String.format(Locale.ROOT, "%9.3f s  %-4s %s", this.loop.now() / 1e9, process.label(),
                    what));
        }
    }

    private void traceWorld(String what) {
        if (this.tracing) {
            this.timeline.add(String.format(Locale.ROOT, "%9.3f s  %-4s %s", this.loop.now() / 1e9, "*", what));
        }
    }
}
