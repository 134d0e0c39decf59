package io.pivotpool.distributed.simulation;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import io.pivotpool.coordinator.CapacityGrant;
import io.pivotpool.coordinator.CapacityView;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.LeaderLease;

/**
 * The server side of a simulated coordination backend: the semantics the Redis and etcd
 * coordinators promise, as one atomic step per call, with TTLs on the server's clock (simulated
 * time; the instances' clocks drift, the server's is the reference).
 *
 * <ul>
 * <li>Leadership as {@code RedisScripts.ACQUIRE_LEADERSHIP}: a new term's token is
 * {@code max(last + 1, server time in µs)}; when the term counter is missing (a cold start, data
 * lost) nobody may lead for one ttl (the <em>fence</em>: an earlier leader may trust its term
 * that long); when the leader key is missing but the end of the last lease written
 * ({@code leader-until}, a key without expiry) is still ahead, nobody may lead until then (an
 * eviction took the key early).
 * <li>Capacity as the Redis grant script: expired grants dropped, the grants of live holders never
 * sum above the cap, {@code renewed} says whether the caller's previous grant was still there. A
 * grant is written for twice its ttl and only rewritten when it changes or less than the ttl is
 * left ({@code RedisScripts.REQUEST_STEP}); a request that would record the same grant again
 * otherwise writes nothing.
 * </ul>
 *
 * <p>Faults act on the state itself: a restart without data clears it, a lossy fail-over puts back
 * an older snapshot, an eviction drops one key. Network faults (latency, timeouts, lost replies,
 * calls refused while the server is down) live in {@link SimulatedCoordinator}, the client side.
 *
 * <p>Mutants, switched only from test code, re-introduce known bugs so that the simulation can be
 * shown to find them.
 */
final class SimulatedBackend {

    /** Re-introduces known bugs of the protocol's history. */
    enum Mutant {
        /** A new term begins at once when the lease state is unknown (no fence after data loss). */
        NO_FENCE_AFTER_DATA_LOSS,
        /** Every grant reported as renewed: a forgotten grant is trusted at its new size. */
        GRANTS_ALWAYS_RENEWED,
        /** Tokens from the counter alone: after data loss the counter starts again at 1. */
        TOKENS_FROM_COUNTER_ONLY,
        /** No {@code leader-until}: a leader key evicted early looks like "nobody leads". */
        NO_LEADER_UNTIL,
        /**
         * A grant asked for again unchanged is never rewritten, however little of its lease is
         * left: it lapses under a holder that keeps trusting it.
         */
        UNCHANGED_GRANTS_NEVER_REWRITTEN,
        /**
         * The leader gives back a grant as soon as it finds its holder missing from its listing,
         * without waiting until no member can still trust it (a manager's mutant: the backend is
         * unchanged).
         */
        NON_MEMBER_GRANTS_REAPED_AT_ONCE,
        /** The leader raises grants to their targets whatever the others hold (only where it raises grants). */
        RAISED_BEYOND_THE_CAP
    }

    private static final long SERVER_EPOCH_MICROS = 1_795_000_000_000_000L;

    private record Member(InstanceInfo info, long expiresAt) {
    }

    private record Lease(String holder, long token, long ttlMillis, long expiresAt) {
    }

    private record Value(byte[] bytes, long expiresAt) {
    }

    private record Grant(int granted, long expiresAt) {
    }

    /** All of the server's data: what a restart may lose and a fail-over may put back. */
    private static final class Data {

        final TreeMap<String, Member> members = new TreeMap<>();

        final TreeMap<String, Value> values = new TreeMap<>();

        final TreeMap<String, TreeMap<String, Grant>> grants = new TreeMap<>();

        Lease leader;

        /** The term counter; null when missing (first start, data lost). */
        Long term;

        /** When the last lease written may end (server nanos); null when missing. No expiry, never evicted. */
        Long leaderUntil;

        Data copy() {
            Data copy = new Data();
            copy.members.putAll(this.members);
            copy.values.putAll(this.values);
            this.grants.forEach((pool, holders) -> copy.grants.put(pool, new TreeMap<>(holders)));
            copy.leader = this.leader;
            copy.term = this.term;
            copy.leaderUntil = this.leaderUntil;
            return copy;
        }
    }

    private final EventLoop loop;

    private final Mutant mutant;

    private int grantsOfNonMembersReaped;


    private int grantsRaised;

    private Data data = new Data();

    private long downUntil = Long.MIN_VALUE;

    /** Set when the recorded grants of a pool summed above its cap: an invariant of the backend itself. */
    private String brokenPromise;

    SimulatedBackend(EventLoop loop, Mutant mutant) {
        this.loop = loop;
        this.mutant = mutant;
    }

    private long now() {
        return this.loop.now();
    }

    boolean up() {
        return now() >= this.downUntil;
    }

    String brokenPromise() {
        return this.brokenPromise;
    }

    // ---- faults ------------------------------------------------------------------------------

    /** The server stops for {@code downNanos}; without persistence it comes back empty. */
    void restart(long downNanos, boolean keepData) {
        this.downUntil = now() + downNanos;
        if (!keepData) {
            this.data = new Data();
        }
    }

    /** A copy of the data as it is now, for a later lossy fail-over. */
    Object snapshot() {
        return this.data.copy();
    }

    /** A replica promoted after {@code downNanos} that missed every write since {@code snapshot}. */
    void failOver(Object snapshot, long downNanos) {
        this.downUntil = now() + downNanos;
        this.data = ((Data) snapshot).copy();
    }

    /** Evicts one key picked by {@code pick}; returns its description, or null if there was none. */
    String evict(int pick, boolean leaderKeyToo) {
        List<String> keys = new ArrayList<>();
        this.data.members.keySet().forEach(id -> keys.add("member " + id));
        this.data.values.keySet().forEach(key -> keys.add("value " + key));
        // A pool's grants are one key (a Redis hash): evicted together.
        this.data.grants.keySet().forEach(pool -> keys.add("grants " + pool));
        if (leaderKeyToo && this.data.leader != null) {
            keys.add("leader");
        }
        if (keys.isEmpty()) {
            return null;
        }
        String key = keys.get(Math.floorMod(pick, keys.size()));
        if (key.startsWith("member ")) {
            this.data.members.remove(key.substring(7));
        }
        else if (key.startsWith("value ")) {
            this.data.values.remove(key.substring(6));
        }
        else if (key.startsWith("grants ")) {
            this.data.grants.remove(key.substring(7));
        }
        else {
            this.data.leader = null;
        }
        return key;
    }

    // ---- membership --------------------------------------------------------------------------

    void register(InstanceInfo instance, Duration ttl) {
        this.data.members.put(instance.id(), new Member(instance, now() + ttl.toNanos()));
    }

    void unregister(String instanceId) {
        this.data.members.remove(instanceId);
    }

    List<InstanceInfo> liveInstances() {
        long now = now();
        this.data.members.values().removeIf(member -> now >= member.expiresAt());
        List<InstanceInfo> live = new ArrayList<>(this.data.members.size());
        this.data.members.values().forEach(member -> live.add(member.info()));
        return live;
    }

    // ---- leadership --------------------------------------------------------------------------

    private Lease liveLease() {
        Lease lease = this.data.leader;
        if (lease != null && now() >= lease.expiresAt()) {
            this.data.leader = null;
            return null;
        }
        return lease;
    }

    Optional<LeaderLease> tryAcquireLeadership(String instanceId, Duration ttl) {
        long now = now();
        long ttlNanos = ttl.toNanos();
        Lease lease = liveLease();
        if (lease != null) {
            if (!lease.holder().equals(instanceId)) {
                return Optional.empty();
            }
            this.data.leader = new Lease(lease.holder(), lease.token(), ttl.toMillis(), now + ttlNanos);
            this.data.leaderUntil = now + ttlNanos;
            return Optional.of(new LeaderLease(instanceId, lease.token(), ttl.toMillis()));
        }
        long serverMicros = (this.mutant == Mutant.TOKENS_FROM_COUNTER_ONLY) ? 0 : SERVER_EPOCH_MICROS + now / 1000;
        if (this.data.term == null) {
            this.data.term = serverMicros;
            if (this.mutant != Mutant.NO_FENCE_AFTER_DATA_LOSS) {
                // Unknown lease state: an earlier leader may still trust its term for one ttl.
                return fence(serverMicros, ttl, now + ttlNanos);
            }
        }
        else if (this.mutant != Mutant.NO_LEADER_UNTIL) {
            if (this.data.leaderUntil == null) {
                // The term survived, the end of its last lease did not: unknown, as above.
                return fence(this.data.term, ttl, now + ttlNanos);
            }
            if (this.data.leaderUntil > now) {
                // The leader key went early: its holder may trust its term until then.
                return fence(this.data.term, ttl, this.data.leaderUntil);
            }
        }
        long next = Math.max(this.data.term + 1, serverMicros);
        this.data.term = next;
        this.data.leader = new Lease(instanceId, next, ttl.toMillis(), now + ttlNanos);
        this.data.leaderUntil = now + ttlNanos;
        return Optional.of(new LeaderLease(instanceId, next, ttl.toMillis()));
    }

    /** Nobody may lead until {@code until}: a lease with an empty holder. */
    private Optional<LeaderLease> fence(long token, Duration ttl, long until) {
        this.data.leader = new Lease("", token, ttl.toMillis(), until);
        this.data.leaderUntil = until;
        return Optional.empty();
    }

    boolean releaseLeadership(String instanceId, long fencingToken) {
        Lease lease = liveLease();
        if (lease != null && lease.holder().equals(instanceId) && lease.token() == fencingToken) {
            this.data.leader = null;
            // Its holder stopped trusting the term before it asked.
            this.data.leaderUntil = now();
            return true;
        }
        return false;
    }

    Optional<LeaderLease> currentLeader() {
        Lease lease = liveLease();
        if (lease == null || lease.holder().isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new LeaderLease(lease.holder(), lease.token(), lease.ttlMillis()));
    }

    // ---- shared state ------------------------------------------------------------------------

    void set(String key, byte[] value, Duration ttl) {
        long expiresAt = (ttl != null) ? now() + ttl.toNanos() : Long.MAX_VALUE;
        this.data.values.put(key, new Value(value.clone(), expiresAt));
    }

    Optional<byte[]> get(String key) {
        Value value = liveValue(key);
        return (value != null) ? Optional.of(value.bytes().clone()) : Optional.empty();
    }

    boolean delete(String key) {
        return liveValue(key) != null & this.data.values.remove(key) != null;
    }

    boolean compareAndSet(String key, byte[] expected, byte[] newValue, Duration ttl) {
        Value current = liveValue(key);
        boolean matches = (expected == null) ? current == null
                : current != null && Arrays.equals(current.bytes(), expected);
        if (!matches) {
            return false;
        }
        if (newValue == null) {
            this.data.values.remove(key);
        }
        else {
            set(key, newValue, ttl);
        }
        return true;
    }

    private Value liveValue(String key) {
        Value value = this.data.values.get(key);
        if (value != null && now() >= value.expiresAt()) {
            this.data.values.remove(key);
            return null;
        }
        return value;
    }

    // ---- capacity ----------------------------------------------------------------------------

    CapacityGrant requestCapacity(String pool, String instanceId, int requested, int globalMaxSize, Duration ttl) {
        return requestCapacity(pool, instanceId, requested, globalMaxSize, ttl, false);
    }

    /**
     * {@code growthMayWait}: as etcd, a grant that would grow is kept as recorded (renewed) while
     * the leader is about to raise it.
     */
    CapacityGrant requestCapacity(String pool, String instanceId, int requested, int globalMaxSize, Duration ttl,
            boolean growthMayWait) {
        long now = now();
        TreeMap<String, Grant> holders = this.data.grants.computeIfAbsent(pool, name -> new TreeMap<>());
        holders.values().removeIf(grant -> now >= grant.expiresAt());
        Grant previous = holders.remove(instanceId);
        boolean renewed = previous != null;
        int others = 0;
        for (Grant grant : holders.values()) {
            others += grant.granted();
        }
        int granted = Math.max(0, Math.min(requested, globalMaxSize - others));
        if (growthMayWait && previous != null && granted > previous.granted()) {
            granted = previous.granted();
            requested = granted;
        }
        boolean unchanged = previous != null && previous.granted() == requested && granted == requested;
        if (unchanged && (previous.expiresAt() - now >= ttl.toNanos()
                || this.mutant == Mutant.UNCHANGED_GRANTS_NEVER_REWRITTEN)) {
            holders.put(instanceId, previous);
        }
        else {
            holders.put(instanceId, new Grant(granted, now + 2 * ttl.toNanos()));
        }
        if (others + granted > globalMaxSize && this.brokenPromise == null) {
            this.brokenPromise = "recorded grants of pool '" + pool + "' sum to " + (others + granted) + " > "
                    + globalMaxSize;
        }
        return new CapacityGrant(pool, instanceId, granted, others + granted, globalMaxSize,
                renewed || this.mutant == Mutant.GRANTS_ALWAYS_RENEWED);
    }

    /**
     * As etcd's raising of grants by the leader ({@code Coordinator#growGrants}), in one step: each
     * live grant whose target is above it is raised as far as the others leave room, in the
     * targets' order, and keeps its expiry (it stays on its holder's lease). Absent grants are not
     * created. Returns how many members are still below their targets.
     */
    int growGrants(String pool, int globalMaxSize, Map<String, Integer> targets) {
        long now = now();
        TreeMap<String, Grant> holders = this.data.grants.computeIfAbsent(pool, name -> new TreeMap<>());
        holders.values().removeIf(grant -> now >= grant.expiresAt());
        int sum = 0;
        for (Grant grant : holders.values()) {
            sum += grant.granted();
        }
        int below = 0;
        for (Map.Entry<String, Integer> target : targets.entrySet()) {
            Grant grant = holders.get(target.getKey());
            if (grant == null || target.getValue() <= grant.granted()) {
                below += (grant == null && target.getValue() > 0) ? 1 : 0;
                continue;
            }
            int room = (this.mutant == Mutant.RAISED_BEYOND_THE_CAP) ? target.getValue() : globalMaxSize - sum;
            int grown = Math.min(target.getValue(), grant.granted() + Math.max(0, room));
            if (grown > grant.granted()) {
                holders.put(target.getKey(), new Grant(grown, grant.expiresAt()));
                this.grantsRaised++;
            }
            sum += grown - grant.granted();
            below += (grown < target.getValue()) ? 1 : 0;
        }
        if (sum > globalMaxSize && this.brokenPromise == null) {
            this.brokenPromise = "raised grants of pool '" + pool + "' sum to " + sum + " > " + globalMaxSize;
        }
        return below;
    }

    void releaseCapacity(String pool, String instanceId) {
        TreeMap<String, Grant> holders = this.data.grants.get(pool);
        if (holders != null) {
            holders.remove(instanceId);
        }
    }

    /** Releases {@code holder}'s grant only if it is not a live member, in one step (as a script or transaction does). */
    boolean releaseCapacityOfNonMember(String pool, String holder) {
        Member member = this.data.members.get(holder);
        if (member != null && now() < member.expiresAt()) {
            return false;
        }
        TreeMap<String, Grant> holders = this.data.grants.get(pool);
        if (holders == null || holders.remove(holder) == null) {
            return false;
        }
        this.grantsOfNonMembersReaped++;
        return true;
    }

    /** How many grants {@link #growGrants} raised: the suite checks that raising happens. */
    int grantsRaised() {
        return this.grantsRaised;
    }

    /** How many grants {@link #releaseCapacityOfNonMember} gave back: the suite checks that reaping happens. */
    int grantsOfNonMembersReaped() {
        return this.grantsOfNonMembersReaped;
    }

    CapacityView capacity(String pool) {
        long now = now();
        TreeMap<String, Integer> view = new TreeMap<>();
        int total = 0;
        TreeMap<String, Grant> holders = this.data.grants.get(pool);
        if (holders != null) {
            for (Map.Entry<String, Grant> grant : holders.entrySet()) {
                if (now < grant.getValue().expiresAt()) {
                    view.put(grant.getKey(), grant.getValue().granted());
                    total += grant.getValue().granted();
                }
            }
        }
        return new CapacityView(pool, view, total);
    }

    /** Σ of the live recorded grants of {@code pool}, for the liveness check. */
    int recordedTotal(String pool) {
        return capacity(pool).total();
    }

    /** The live grant recorded for {@code instanceId}, or 0. */
    int recordedGrant(String pool, String instanceId) {
        Integer grant = capacity(pool).grants().get(instanceId);
        return (grant != null) ? grant : 0;
    }
}
