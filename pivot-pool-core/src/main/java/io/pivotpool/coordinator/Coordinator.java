package io.pivotpool.coordinator;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.pivotpool.coordinator.support.CoordinatorArguments;
import org.jspecify.annotations.Nullable;

/**
 * The service provider interface of a coordination backend: what lets the instances of one
 * application share membership, a leader, queues, state and pools' global capacity.
 *
 * <p>Every key a backend writes lives under the namespace it was configured with, so several
 * applications can share one server. Values cross the network as bytes (callers choose JSON or
 * plain text); a backend never Java-deserializes what it reads, and skips garbage with a warning.
 *
 * <p>Every method may block for at most the backend's operation timeout and reports a backend
 * failure as {@link CoordinatorException}. Coordinators are called from a background scheduler,
 * never from a pool's borrow path. Implementations must be thread-safe.
 *
 * <p>Arguments: ids, keys, queue and pool names are any non-empty strings (spaces, {@code :},
 * {@code *}, braces and non-ASCII letters included), which a backend stores under its namespace
 * without interpreting them. Values and messages are any byte arrays, empty ones included. A TTL
 * must be positive, except that {@link #set} and {@link #compareAndSet} take {@code null} for
 * "never expires"; a zero or negative TTL is rejected with {@link IllegalArgumentException}.
 * The {@code CoordinatorContract} test suite checks all of this for every backend.
 */
public interface Coordinator extends AutoCloseable {

    // ---- lifecycle -------------------------------------------------------------------------

    /** The backend's name as {@code distributed.coordination} spells it: {@code noop}, {@code redis}, ... */
    String name();

    /**
     * Connects to the backend, verifying that it answers. Idempotent.
     *
     * @throws CoordinatorException naming the backend and the reason (never a password)
     */
    void connect();

    /** Whether the last operation reached the backend. */
    boolean isConnected();

    /** Releases connections and threads; does not unregister or resign (the manager does). Idempotent. */
    @Override
    void close();

    // ---- membership ------------------------------------------------------------------------

    /** Registers an instance that stays live for {@code ttl} unless {@link #heartbeat renewed}. */
    void register(InstanceInfo instance, Duration ttl);

    /**
     * Renews an instance's registration for another {@code ttl}, registering it again if it had
     * expired (after a backend outage, for instance).
     */
    void heartbeat(InstanceInfo instance, Duration ttl);

    /** Removes an instance at once; unknown ids are ignored. */
    void unregister(String instanceId);

    /** The live instances, ordered by id; never a keyspace scan. */
    List<InstanceInfo> liveInstances();

    /**
     * How many instances are live: {@code liveInstances().size()}, without reading each one. A
     * follower's status shows this count, so reading the status of every instance of a large
     * cluster (health probes, scrapes) costs the backend O(1) per read rather than O(members).
     * The default lists the members; a backend that can count them in place should.
     */
    default int liveInstanceCount() {
        return liveInstances().size();
    }

    // ---- leadership ------------------------------------------------------------------------

    /**
     * Acquires leadership for {@code ttl} if nobody holds it, or renews it if
     * {@code instanceId} holds it. A new term gets a fencing token strictly greater than every
     * token granted before; a renewal keeps its token.
     *
     * @return the lease if {@code instanceId} leads now, empty if another instance does
     */
    Optional<LeaderLease> tryAcquireLeadership(String instanceId, Duration ttl);

    /**
     * Acquires or renews leadership as {@link #tryAcquireLeadership} does, and returns the current
     * lease whoever holds it (compare its {@link LeaderLease#holderId() holder}): what a follower's
     * round needs, in one call where a backend can read the lease while it tries (the default makes
     * two: {@link #tryAcquireLeadership}, then {@link #currentLeader()}).
     *
     * @return the lease, {@code instanceId}'s if it leads now, another's, or empty if nobody leads
     */
    default Optional<LeaderLease> seekLeadership(String instanceId, Duration ttl) {
        Optional<LeaderLease> own = tryAcquireLeadership(instanceId, ttl);
        return own.isPresent() ? own : currentLeader();
    }

    /**
     * Gives up leadership if {@code instanceId} still holds the term of {@code fencingToken}.
     *
     * @return whether a lease was released
     */
    boolean releaseLeadership(String instanceId, long fencingToken);

    /** The current leader's lease, if any instance leads. */
    Optional<LeaderLease> currentLeader();

    // ---- queues (FIFO, at-least-once) --------------------------------------------------------

    /** Appends a message to the named queue. */
    void push(String queue, byte[] message);

    /** Takes the oldest message, if any, without waiting. */
    Optional<byte[]> pop(String queue);

    /**
     * Takes the oldest message, waiting up to {@code timeout} for one to arrive. {@link Duration#ZERO}
     * does not wait at all (unlike Redis {@code BLPOP 0}, which would wait forever).
     */
    Optional<byte[]> pop(String queue, Duration timeout);

    // ---- shared state ----------------------------------------------------------------------

    /** Stores a value, expiring after {@code ttl} unless it is {@code null}. */
    void set(String key, byte[] value, @Nullable Duration ttl);

    Optional<byte[]> get(String key);

    /** @return whether the key existed */
    boolean delete(String key);

    /**
     * Reads many keys as {@link #get} would, in as few round trips as the backend allows (the
     * leader reads every member's demand report this way, once a round). Absent keys, and values
     * {@link #get} would skip as garbage, are absent from the result. Not a snapshot: each key is
     * read as it is when its turn comes. The default calls {@link #get} once per key.
     *
     * @return the values found, in the order of {@code keys}
     */
    default Map<String, byte[]> getAll(Collection<String> keys) {
        Map<String, byte[]> values = new LinkedHashMap<>();
        for (String key : keys) {
            get(key).ifPresent(value -> values.put(key, value));
        }
        return values;
    }

    /**
     * {@link #getAll(Collection)} for values of a known size, such as the records the pool manager
     * writes (a demand report is a few dozen bytes): a value longer than {@code maxValueBytes} reads
     * as absent (a backend that warns about garbage warns about it). A backend that can tell a
     * value's length before reading it (Redis) never copies a longer one, so that a value planted
     * large under a key that a leader reads every round costs neither the server's bandwidth nor
     * this process's memory; the default reads every value and drops the longer ones.
     *
     * @throws IllegalArgumentException if {@code maxValueBytes} is negative
     * @return the values found within the bound, in the order of {@code keys}
     */
    default Map<String, byte[]> getAll(Collection<String> keys, int maxValueBytes) {
        CoordinatorArguments.requireValueBound(maxValueBytes);
        Map<String, byte[]> values = new LinkedHashMap<>(getAll(keys));
        values.values().removeIf(value -> value.length > maxValueBytes);
        return values;
    }

    /**
     * Stores many values as {@link #set} would, each expiring after {@code ttl} (which must not be
     * null here), in as few round trips as the backend allows (the leader writes every member's
     * target this way). Not atomic: after a failure some values may have been stored. The default
     * calls {@link #set} once per entry.
     */
    default void setAll(Map<String, byte[]> values, Duration ttl) {
        CoordinatorArguments.requirePositiveTtl(ttl);
        values.forEach((key, value) -> set(key, value, ttl));
    }

    /**
     * Atomically replaces the value if it equals {@code expected} ({@code null}: the key is absent).
     * A {@code null} {@code newValue} deletes the key.
     *
     * @return whether the value was replaced
     */
    boolean compareAndSet(String key, byte @Nullable [] expected, byte @Nullable [] newValue, @Nullable Duration ttl);

    // ---- capacity --------------------------------------------------------------------------

    /**
     * Atomically grants {@code instanceId} up to {@code requested} of the pool's
     * {@code globalMaxSize}, never letting the grants of live holders sum above it. A grant lives
     * at least {@code ttl} after each request, which is all its holder trusts, and may be kept up
     * to twice as long so that asking again for the same grant need not rewrite it (Redis does
     * so); an expired grant frees its share.
     *
     * @return the grant as recorded, which may be smaller than requested (even zero)
     */
    CapacityGrant requestCapacity(String pool, String instanceId, int requested, int globalMaxSize, Duration ttl);

    /**
     * Gives back {@code instanceId}'s grant of the pool's capacity at once. The share is free for
     * the others' requests at once where requests run one at a time (Redis); where they race for a
     * ledger that keeps a running sum (etcd), the release leaves the sum as it was, so as to race
     * nobody, and the share counts until the next reconciliation, which a request granted less than
     * it asked for starts within about a second.
     */
    void releaseCapacity(String pool, String instanceId);

    /**
     * Gives back {@code holder}'s grant of the pool only if {@code holder} is not a registered
     * member at that moment, checked and released in one atomic step: the leader reaps with it the
     * grants of holders it has not listed for long enough, and a holder that registered since the
     * leader's listing (and may have asked for a grant it trusts) must keep it. The default gives
     * back nothing: a backend that cannot check and release atomically must not reap.
     *
     * @return whether a grant was given back
     */
    default boolean releaseCapacityOfNonMember(String pool, String holder) {
        return false;
    }

    /**
     * The leader's help for a backend whose grants are optimistic transactions: raises, in a few
     * calls, the recorded grants of holders whose {@code targets} are above them, as far as the
     * cap allows (in the order of {@code targets}), never letting the grants sum above
     * {@code globalMaxSize}. Only grants that exist are raised, each on the lease it has, so it
     * ends when its holder's would: a holder relies on nothing more until its own next request
     * finds the grant raised and renews it. When a rebalance moves capacity, the holders that
     * grow then find their grants already written instead of each racing the others for the
     * pool's ledger. The default raises nothing: every holder grows at its own request (a Redis
     * script runs each request alone, without such races). The pool manager calls it only where
     * {@link #capacityConflicts()} is not {@code -1}.
     *
     * @param targets the targets of the pool's members, by instance id, in the order in which
     * capacity that does not suffice for all of them should go
     * @return how many holders are still below their targets (0 when the default raises nothing):
     * while some are, the leader calls again at its next round
     */
    default int growGrants(String pool, int globalMaxSize, Map<String, Integer> targets) {
        return 0;
    }

    /** The live grants of a pool and their sum. */
    CapacityView capacity(String pool);

    /**
     * What an operator should see about the backend beside the coordination's own status, shown in
     * the health details: for example Redis's {@code maxmemory-policy}. Read from what the
     * coordinator already knows, never by calling the backend (a health probe must not hang on a
     * lost server), and never a secret. The default has nothing to add.
     */
    default Map<String, String> details() {
        return Map.of();
    }

    /**
     * How many capacity requests so far found the pool's grants changed by another instance
     * between reading and writing them, and tried again: the cost of a backend whose grants are
     * optimistic transactions (etcd serialises every change of a pool's grants on one key), which
     * grows with the instances changing their grants at once. {@code -1} where the backend has no
     * such conflicts (a Redis script or an in-process lock runs each request alone); the default.
     * Read from a counter the coordinator keeps, never by calling the backend.
     */
    default long capacityConflicts() {
        return -1;
    }

    // ---- a round in one call -------------------------------------------------------------------

    /**
     * Runs the steps of an instance's synchronisation round ({@link SyncRound}), in order, stopping
     * at the first failure. A backend that can should do them in one call (Redis runs one script),
     * because at scale its cost of coordination is mostly the cost of round trips. Not atomic
     * unless the backend says so: after a failure some steps may have taken effect, as after a
     * failure of the separate calls. The default makes the separate calls.
     *
     * <p>Every grant must be asked for within half an instance-ttl of the heartbeat that renewed the
     * registration (the leader reaps the grants of holders that are not members, see
     * {@link #releaseCapacityOfNonMember}): a backend whose round runs the steps as separate calls
     * heartbeats again before the requests if the steps before them took longer; the default does.
     */
    default SyncRound.Reply round(SyncRound round) {
        String id = round.instance().id();
        long heartbeatSent = System.nanoTime();
        heartbeat(round.instance(), round.instanceTtl());
        Duration leaderTtl = round.leaderTtl();
        Optional<LeaderLease> leader = (leaderTtl != null) ? seekLeadership(id, leaderTtl) : currentLeader();
        int memberCount = round.countMembers() ? liveInstanceCount() : -1;
        Duration writeTtl = round.writeTtl();
        if (!round.writes().isEmpty() && writeTtl != null) {
            setAll(round.writes(), writeTtl);
        }
        List<CapacityGrant> grants = new ArrayList<>(round.capacity().size());
        for (SyncRound.CapacityRequest request : round.capacity()) {
            if (System.nanoTime() - heartbeatSent > round.instanceTtl().toNanos() / 2) {
                heartbeatSent = System.nanoTime();
                heartbeat(round.instance(), round.instanceTtl());
            }
            grants.add(requestCapacity(request.pool(), id, request.requested(), request.globalMaxSize(),
                    request.ttl()));
        }
        Map<String, byte[]> values = round.reads().isEmpty() ? Map.of() : getAll(round.reads());
        return new SyncRound.Reply(leader, memberCount, grants, values);
    }
}
