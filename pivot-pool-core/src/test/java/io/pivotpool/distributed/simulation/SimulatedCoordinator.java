package io.pivotpool.distributed.simulation;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Supplier;

import io.pivotpool.coordinator.CapacityGrant;
import io.pivotpool.coordinator.CapacityView;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.coordinator.SyncRound;

/**
 * One process's client of the {@link SimulatedBackend}: every call crosses a simulated network.
 *
 * <p>A call blocks its caller for a seeded latency while the rest of the cluster moves on (the
 * event loop runs re-entrantly), and its effect on the server happens at a seeded point: as it
 * is sent or just before the reply. A call that times out, or whose reply is lost, throws
 * {@link CoordinatorException} after the operation timeout, with or without having taken effect.
 * While the server is down calls are refused at once; while the process is cut off from the
 * network they time out without effect. A process paused while a reply is on its way reads it
 * only when it resumes; one paused just before sending sends only when it resumes.
 *
 * <p>Like the Redis coordinator, it remembers the highest fencing token granted to it and ends a
 * lease handed back below it (a lossy fail-over resurrected a deposed term), starting a new one.
 */
final class SimulatedCoordinator implements Coordinator {

    /** Thrown without a stack trace: the simulation throws millions of them. */
    static final class SimulatedFailure extends CoordinatorException {

        private static final long serialVersionUID = 1L;

        SimulatedFailure(String message) {
            super(message);
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    /** The network as the schedule's seed chose it. */
    record Network(long opTimeoutNanos, double slowCallRate, long slowCallMaxNanos, double lostReplyRate,
            double sendDelayRate) {
    }

    private static final long FAST_CALL_MAX_NANOS = 3_000_000;

    private static final long REFUSED_NANOS = 1_000_000;

    private final Simulation simulation;

    private final SimulatedProcess owner;

    private final SimulatedBackend backend;

    private final SplittableRandom random;

    private final Network network;

    private long highestTokenGranted;

    private long highestLeaderSeen;

    private boolean connected = true;

    /** The pools of the round under way whose growth may wait for the leader: {@link #round}. */
    private Set<String> mayWait = Set.of();

    SimulatedCoordinator(Simulation simulation, SimulatedProcess owner) {
        this.simulation = simulation;
        this.owner = owner;
        this.backend = simulation.backend();
        this.random = simulation.networkRandom();
        this.network = simulation.network();
    }

    private EventLoop loop() {
        return this.simulation.loop();
    }

    private <T> T call(String operation, Supplier<T> effect) {
        return call(operation, null, effect);
    }

    /** {@code subject}, if any, completes the operation's name in traces and failures only (no concatenation per call). */
    private <T> T call(String verb, String subject, Supplier<T> effect) {
        if (this.owner.crashed() || this.simulation.halted()) {
            throw new SimulatedFailure(name(verb, subject) + ": process gone");
        }
        this.owner.callStarted();
        try {
            T result = exchange(verb, subject, effect);
            this.connected = true;
            if (this.simulation.tracing()) {
                this.simulation.trace(this.owner, name(verb, subject) + " -> " + describe(result));
            }
            return result;
        }
        catch (SimulatedFailure ex) {
            this.connected = false;
            if (this.simulation.tracing()) {
                this.simulation.trace(this.owner, name(verb, subject) + " failed: " + ex.getMessage());
            }
            throw ex;
        }
        finally {
            this.owner.callEnded();
        }
    }

    private static String name(String verb, String subject) {
        return (subject == null) ? verb : verb + " " + subject;
    }

    private <T> T exchange(String verb, String subject, Supplier<T> effect) {
        long start = loop().now();
        // The quiet period at the end is free of every fault, network faults included.
        boolean calm = start >= this.simulation.quietFrom();
        if (!calm && this.random.nextDouble() < this.network.sendDelayRate()) {
            // The process stalls between reading its clock and sending (a GC pause there is the
            // interesting case: the request reaches the server later than the caller assumes).
            waitUntil(start + this.random.nextLong(1, 50_000_000));
            awaitResume();
            start = loop().now();
        }
        if (!this.backend.up()) {
            waitUntil(start + REFUSED_NANOS);
            awaitResume();
            throw new SimulatedFailure(name(verb, subject) + ": connection refused (server down)");
        }
        if (this.owner.cutOff()) {
            waitUntil(start + this.network.opTimeoutNanos());
            awaitResume();
            throw new SimulatedFailure(name(verb, subject) + ": timed out (cut off)");
        }
        long latency = (!calm && this.random.nextDouble() < this.network.slowCallRate())
                ? this.random.nextLong(FAST_CALL_MAX_NANOS, this.network.slowCallMaxNanos())
                : this.random.nextLong(100_000, FAST_CALL_MAX_NANOS);
        boolean lostReply = !calm && this.random.nextDouble() < this.network.lostReplyRate();
        if (latency >= this.network.opTimeoutNanos() || lostReply) {
            boolean applied = lostReply || this.random.nextBoolean();
            if (applied) {
                waitUntil(start + this.random.nextLong(Math.min(latency, this.network.opTimeoutNanos())));
                if (this.backend.up() && !this.owner.cutOff() && !this.simulation.halted()) {
                    effect.get();
                }
                else {
                    applied = false;
                }
            }
            waitUntil(start + this.network.opTimeoutNanos());
            awaitResume();
            throw new SimulatedFailure(name(verb, subject) + (lostReply ? ": reply lost" : ": timed out") + " (applied: "
                    + applied + ")");
        }
        T result;
        if (this.random.nextBoolean()) {
            result = effect.get();
            waitUntil(start + latency);
            if (!this.backend.up()) {
                awaitResume();
                throw new SimulatedFailure(name(verb, subject) + ": connection reset after it was applied (server down)");
            }
        }
        else {
            waitUntil(start + latency);
            if (!this.backend.up() || this.simulation.halted()) {
                awaitResume();
                throw new SimulatedFailure(name(verb, subject) + ": connection reset before it was applied (server down)");
            }
            result = effect.get();
        }
        awaitResume();
        return result;
    }

    private void waitUntil(long at) {
        loop().runUntil(at);
        if (this.simulation.halted()) {
            throw new SimulatedFailure("the simulation stopped");
        }
    }

    /** A paused process reads its reply only when it runs again; a crashed one never does. */
    private void awaitResume() {
        while (this.owner.paused() && !this.simulation.halted()) {
            loop().runUntil(this.owner.resumesAt());
        }
        if (this.owner.crashed() || this.simulation.halted()) {
            throw new SimulatedFailure("process gone");
        }
    }

    private static String describe(Object result) {
        if (result instanceof Optional<?> optional) {
            return optional.map(SimulatedCoordinator::describe).orElse("none");
        }
        if (result instanceof LeaderLease lease) {
            return "lease " + lease.holderId() + " term " + lease.fencingToken();
        }
        if (result instanceof CapacityGrant grant) {
            return "granted " + grant.granted() + " (recorded total " + grant.totalGranted() + ", renewed "
                    + grant.renewed() + ")";
        }
        if (result instanceof byte[] bytes) {
            return "'" + new String(bytes, java.nio.charset.StandardCharsets.US_ASCII) + "'";
        }
        if (result instanceof List<?> list) {
            return list.size() + " members";
        }
        return String.valueOf(result);
    }

    // ---- lifecycle -----------------------------------------------------------------------------

    @Override
    public String name() {
        return "simulated";
    }

    @Override
    public void connect() {
    }

    @Override
    public boolean isConnected() {
        return this.connected;
    }

    @Override
    public void close() {
    }

    // ---- membership ----------------------------------------------------------------------------

    @Override
    public void register(InstanceInfo instance, Duration ttl) {
        call("register", () -> {
            this.backend.register(instance, ttl);
            return "ok";
        });
    }

    @Override
    public void heartbeat(InstanceInfo instance, Duration ttl) {
        call("heartbeat", () -> {
            this.backend.register(instance, ttl);
            return "ok";
        });
    }

    @Override
    public void unregister(String instanceId) {
        call("unregister", () -> {
            this.backend.unregister(instanceId);
            return "ok";
        });
    }

    @Override
    public List<InstanceInfo> liveInstances() {
        return call("list members", this.backend::liveInstances);
    }

    // ---- leadership ----------------------------------------------------------------------------

    @Override
    public Optional<LeaderLease> tryAcquireLeadership(String instanceId, Duration ttl) {
        Optional<LeaderLease> lease = call("acquire leadership",
                () -> this.backend.tryAcquireLeadership(instanceId, ttl));
        if (lease.isPresent() && lease.get().fencingToken() < this.highestTokenGranted) {
            long stale = lease.get().fencingToken();
            call("release a resurrected term", () -> this.backend.releaseLeadership(instanceId, stale));
            lease = call("acquire leadership", () -> this.backend.tryAcquireLeadership(instanceId, ttl));
        }
        lease.ifPresent(granted -> {
            if (granted.fencingToken() < this.highestTokenGranted) {
                this.simulation.violated(Invariant.TOKENS_INCREASE, this.owner.label() + " was granted term "
                        + granted.fencingToken() + " after term " + this.highestTokenGranted);
            }
            this.highestTokenGranted = Math.max(this.highestTokenGranted, granted.fencingToken());
            sawLeader(granted, this.highestLeaderSeen);
        });
        return lease;
    }

    @Override
    public boolean releaseLeadership(String instanceId, long fencingToken) {
        return call("release leadership", () -> this.backend.releaseLeadership(instanceId, fencingToken));
    }

    @Override
    public Optional<LeaderLease> currentLeader() {
        long seenBefore = this.highestLeaderSeen;
        Optional<LeaderLease> leader = call("read leader", this.backend::currentLeader);
        leader.ifPresent(lease -> sawLeader(lease, seenBefore));
        return leader;
    }

    /**
     * Terms this process sees never go backwards, except that after a lossy fail-over another
     * instance's resurrected lease may be read until its holder's next renewal ends it (documented
     * in pivot-pool-redis/README.md, Limits). A read is held to what the process had seen when it
     * sent it ({@code seenBefore}): another of its calls (a pool added on the application's thread
     * while the rounds run) may see a newer term while the read's reply is on its way.
     */
    private void sawLeader(LeaderLease lease, long seenBefore) {
        if (lease.fencingToken() < seenBefore && !this.simulation.writesWereLost()) {
            this.simulation.violated(Invariant.TOKENS_INCREASE, this.owner.label() + " read term "
                    + lease.fencingToken() + " of " + lease.holderId() + " after term " + seenBefore);
        }
        this.highestLeaderSeen = Math.max(this.highestLeaderSeen, lease.fencingToken());
    }

    // ---- queues: the protocol uses none ---------------------------------------------------------

    @Override
    public void push(String queue, byte[] message) {
        throw new UnsupportedOperationException("queues are not simulated");
    }

    @Override
    public Optional<byte[]> pop(String queue) {
        throw new UnsupportedOperationException("queues are not simulated");
    }

    @Override
    public Optional<byte[]> pop(String queue, Duration timeout) {
        throw new UnsupportedOperationException("queues are not simulated");
    }

    // ---- shared state --------------------------------------------------------------------------

    @Override
    public void set(String key, byte[] value, Duration ttl) {
        call("set", key, () -> {
            this.backend.set(key, value, ttl);
            return "ok";
        });
    }

    @Override
    public Optional<byte[]> get(String key) {
        return call("get", key, () -> this.backend.get(key));
    }

    @Override
    public boolean delete(String key) {
        return call("delete", key, () -> this.backend.delete(key));
    }

    @Override
    public boolean compareAndSet(String key, byte[] expected, byte[] newValue, Duration ttl) {
        return call("compare-and-set", key, () -> this.backend.compareAndSet(key, expected, newValue, ttl));
    }

    // ---- capacity ------------------------------------------------------------------------------

    /**
     * Where the simulation raises grants, the pools of the round whose growth may wait for the
     * leader (as etcd keeps such a grant as recorded); the rest as {@link Coordinator#round}.
     */
    @Override
    public SyncRound.Reply round(SyncRound round) {
        if (!this.simulation.raisesGrants()) {
            return Coordinator.super.round(round);
        }
        this.mayWait = new HashSet<>();
        round.capacity().stream().filter(SyncRound.CapacityRequest::growthMayWait)
            .forEach(request -> this.mayWait.add(request.pool()));
        try {
            return Coordinator.super.round(round);
        }
        finally {
            this.mayWait = Set.of();
        }
    }

    @Override
    public CapacityGrant requestCapacity(String pool, String instanceId, int requested, int globalMaxSize,
            Duration ttl) {
        boolean waits = this.mayWait.contains(pool);
        CapacityGrant grant = call("request " + requested + " of " + pool,
                () -> this.backend.requestCapacity(pool, instanceId, requested, globalMaxSize, ttl, waits));
        this.owner.granted(this.simulation.poolIndex(pool));
        return grant;
    }

    /** Counted (0) where the simulation raises grants, as etcd does: the leader then calls {@link #growGrants}. */
    @Override
    public long capacityConflicts() {
        return this.simulation.raisesGrants() ? 0 : -1;
    }

    @Override
    public int growGrants(String pool, int globalMaxSize, Map<String, Integer> targets) {
        return call("raise grants of", pool, () -> this.backend.growGrants(pool, globalMaxSize, targets));
    }

    @Override
    public void releaseCapacity(String pool, String instanceId) {
        call("release grant of " + pool, () -> {
            this.backend.releaseCapacity(pool, instanceId);
            return "ok";
        });
    }

    @Override
    public boolean releaseCapacityOfNonMember(String pool, String holder) {
        return call("release grant of " + pool + " held by non-member " + holder,
                () -> this.backend.releaseCapacityOfNonMember(pool, holder));
    }

    @Override
    public CapacityView capacity(String pool) {
        return call("read capacity of " + pool, () -> this.backend.capacity(pool));
    }
}
