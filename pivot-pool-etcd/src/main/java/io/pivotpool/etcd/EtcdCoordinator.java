package io.pivotpool.etcd;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.pivotpool.coordinator.CapacityGrant;
import io.pivotpool.coordinator.CapacityView;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.coordinator.SyncRound;
import io.pivotpool.coordinator.support.CoordinatorArguments;
import io.pivotpool.coordinator.support.GarbageWarnings;
import io.pivotpool.coordinator.support.Plausibility;
import io.pivotpool.etcd.EtcdLeases.LeaseGrant;
import org.jspecify.annotations.Nullable;

import static io.pivotpool.etcd.EtcdFailures.isTooLarge;
import static io.pivotpool.etcd.EtcdRecords.utf8;

/**
 * A {@link Coordinator} on etcd v3, through jetcd: every read-then-write step is one etcd
 * transaction guarded by the revisions it read, and every expiry is an etcd lease, measured by the
 * etcd leader's clock, never the instances'. Since etcd replicates through Raft, an acknowledged
 * leader term or capacity grant survives the loss of a minority of members and a restart of all
 * of them (the data directory is the state).
 *
 * <p><b>Keys</b> are listed on {@link EtcdKeys}. <b>Leases.</b> A registration, leader term and
 * capacity grant each sit on an etcd lease, renewed by {@code keepAliveOnce} when the manager
 * renews them (heartbeat, renewed leadership, repeated request), so a crashed instance's entries
 * vanish one TTL after its last renewal. Grants requested in a {@link #round} go on the lease of
 * the instance's registration when their TTLs match (one keep-alive renews them all), and so do
 * the values a round writes when they are to live at least as long as it (they then live while it
 * does); grants requested on their own, terms, and values set on their own have a lease of their
 * own (one per {@link #setAll} batch); a lease TTL is whole seconds, rounded up, and at
 * least the server's minimum (1.5 election timeouts, probed at {@link #connect()}), so entries may
 * live longer than asked, never shorter. {@link #unregister}, {@link #releaseLeadership} and
 * {@link #releaseCapacity} delete the key and revoke the lease at once, unless grants ride on it:
 * that lease runs out by itself, so that a grant kept while objects are still borrowed stays.
 *
 * <p><b>Fencing tokens</b> come from the term counter ({@code NS/term}), incremented in the same
 * transaction that creates the leader key: {@code max(counter + 1, revision read + 1)}, so they
 * grow with every term, are never above the revision that committed them while the counter is
 * intact, and therefore keep growing when the counter is lost (someone deleted the namespace):
 * then, as when the counter or the leader key holds garbage, no term begins for one leader TTL
 * (a <i>fence</i>, a leader key with an empty holder) so that a deposed leader's trust runs out
 * first.
 *
 * <p><b>Nothing read from etcd is trusted.</b> Records are parsed strictly (plain decimal numbers,
 * flat JSON, size limits, a lease no longer than the record's own TTL, checked once per lease with
 * {@code LeaseTimeToLive}); a bad key is dropped or fenced by a transaction conditional on its mod
 * revision, and logged as a warning that names it, at most once per key every
 * {@link #DEFAULT_GARBAGE_WARNING_INTERVAL}; remote text is escaped before it reaches a log line or
 * an exception message. Nothing is ever Java-deserialized.
 *
 * <p>Every SPI call, all its round trips together, waits at most the coordinator's timeout and
 * reports a failure as a {@link CoordinatorException} naming etcd, the endpoints and the
 * namespace, never a password. jetcd reconnects on its own, across the configured endpoints.
 *
 * <p><b>Where each concern lives.</b> This class is the {@link Coordinator}'s face: it creates the
 * client, connects and closes, runs a {@link #round} (whose one read serves every concern), and
 * hands every other call to the class of its concern, as the Redis coordinator's are spread over
 * {@code RedisScripts}, {@code RedisKeys} and {@code BlockingPops}: {@link EtcdMembership}
 * (registrations and the listing of live instances), {@link EtcdLeadership} (terms, fencing tokens
 * and fences), {@link EtcdQueues} (push and pop, with watches), {@link EtcdValues} (shared state,
 * with the kept ranges of {@code getAll}), {@link EtcdGrants} (capacity grants and each pool's
 * running sum) and {@link EtcdLeases} (granting, renewing and revoking leases, and what is known of
 * them). All of them make their round trips through an {@link EtcdCall} on the one {@link
 * EtcdConnection}; records are parsed by {@link EtcdRecords}, keys named by {@link EtcdKeys},
 * failures read by {@link EtcdFailures}.
 */
public final class EtcdCoordinator implements Coordinator {

    /** The name {@code distributed.coordination} selects this backend by. */
    public static final String NAME = "etcd";

    /** How often the same bad key is warned about at most; in between it is logged at debug level. */
    public static final Duration DEFAULT_GARBAGE_WARNING_INTERVAL = GarbageWarnings.DEFAULT_INTERVAL;

    /** The longest lease (leadership, registration, capacity grant) the coordinator writes or accepts. */
    static final long MAX_TTL_MILLIS = Plausibility.MAX_TTL_MILLIS;

    /** The longest instance id (and so lease holder, grant holder) in UTF-8 bytes. */
    static final int MAX_ID_BYTES = 1024;

    /**
     * The most members listed; more under the namespace are garbage, dropped, and heartbeats
     * register the real ones again. As the Redis coordinator's: a fleet of a thousand in a rolling
     * deploy (new instances up before the old ones are gone) must stay well within it.
     */
    static final int MAX_MEMBERS = 10_000;

    /** The most fields of one instance record (its ttl included). */
    static final int MAX_MEMBER_FIELDS = 64;

    /** The largest instance record read. */
    static final int MAX_MEMBER_BYTES = 64 * 1024;

    /**
     * The most bytes of member records one listing keeps: 400 for each of {@link #MAX_MEMBERS},
     * about twice what this library registers (as the Redis coordinator's listing).
     */
    static final int MAX_LISTING_BYTES = 4 * 1024 * 1024;

    /** The largest leader record read. */
    static final int MAX_LEADER_BYTES = 4 * 1024;

    /** The most holders of one pool's grants: one per member. */
    static final int MAX_GRANTS = MAX_MEMBERS;

    private final Client client;

    private final EtcdConnection connection;

    private final KV kv;

    private final EtcdLeases leases;

    private final EtcdMembership membership;

    private final EtcdLeadership leadership;

    private final EtcdQueues queues;

    private final EtcdValues values;

    private final EtcdGrants grants;

    private final EtcdKeys keys;

    /** Whether {@link #close()} closes the client: not one the application shares. */
    private final boolean ownsClient;

    private EtcdCoordinator(Client client, boolean ownsClient, EtcdCoordinatorSettings settings) {
        this.client = client;
        this.ownsClient = ownsClient;
        this.connection = new EtcdConnection(client, settings);
        this.kv = this.connection.kv();
        this.leases = new EtcdLeases(this.connection);
        this.membership = new EtcdMembership(this.connection, this.leases);
        this.leadership = new EtcdLeadership(this.connection, this.leases);
        this.queues = new EtcdQueues(this.connection);
        this.values = new EtcdValues(this.connection, this.leases);
        this.grants = new EtcdGrants(this.connection, this.leases, this.membership.duplicates());
        this.keys = this.connection.keys();
    }

    /**
     * A coordinator with a client of its own for the cluster the settings name. Nothing is
     * contacted before {@link #connect()}; {@link #close()} closes the client.
     *
     * @throws IllegalArgumentException if a TLS file (trust certificates, client certificate or
     *     key) cannot be used
     */
    public static EtcdCoordinator create(EtcdCoordinatorSettings settings) {
        Objects.requireNonNull(settings, "settings must not be null");
        ClientBuilder builder = Client.builder()
            .endpoints(settings.endpoints().toArray(String[]::new))
            .connectTimeout(settings.timeout())
            .waitForReady(false)
            .retryMaxAttempts(2)
            .retryDelay(50)
            .retryMaxDelay(500)
            .retryMaxDuration(settings.timeout())
            .keepaliveTime(Duration.ofSeconds(10))
            .keepaliveTimeout(settings.timeout());
        if (settings.username() != null) {
            builder.user(ByteSequence.from(settings.username(), StandardCharsets.UTF_8));
            builder.password(ByteSequence.from(settings.password() != null ? settings.password() : "",
                    StandardCharsets.UTF_8));
        }
        if (settings.tls()) {
            // Always an SSL context for https:// endpoints: without one jetcd speaks plain text
            // whatever the URL's scheme. No trust manager of ours means the JVM's default trust store.
            try {
                builder.sslContext(ssl -> {
                    if (settings.trustCertificates() != null) {
                        ssl.trustManager(settings.trustCertificates().toFile());
                    }
                    if (settings.clientCertificate() != null) {
                        ssl.keyManager(settings.clientCertificate().toFile(),
                            Objects.requireNonNull(settings.clientKey(), "checked by the settings").toFile());
                    }
                });
            }
            catch (javax.net.ssl.SSLException | RuntimeException ex) {
                // Netty names the file it could not read, never its content.
                throw new IllegalArgumentException("cannot use the etcd TLS files (trust certificates "
                        + settings.trustCertificates() + ", client certificate " + settings.clientCertificate()
                        + ", client key " + settings.clientKey() + "): " + ex.getMessage(), ex);
            }
        }
        return new EtcdCoordinator(builder.build(), true, settings);
    }

    /**
     * A coordinator on an existing jetcd client (the application's, or one client shared by many
     * coordinators in one process), which it neither configures nor closes. Of the settings, only
     * the namespace, the timeout and the endpoints and user (for messages) are used: connecting,
     * TLS and credentials are the client's.
     */
    public static EtcdCoordinator create(Client client, EtcdCoordinatorSettings settings) {
        Objects.requireNonNull(client, "client must not be null");
        Objects.requireNonNull(settings, "settings must not be null");
        return new EtcdCoordinator(client, false, settings);
    }

    // ---- lifecycle -------------------------------------------------------------------------

    @Override
    public String name() {
        return NAME;
    }

    /**
     * Checks that etcd answers and lets this client read the namespace (its term counter), and
     * learns the server's shortest lease by granting and revoking a 1 s lease.
     */
    @Override
    public void connect() {
        EtcdCall call = this.connection.call("connect");
        // A lease grant needs no login in etcd 3.4: without this read, missing credentials or a role
        // without the namespace would pass connect() and fail every later call instead.
        call.await(this.kv.get(EtcdKeys.bytes(this.keys.term()), GetOption.builder().withCountOnly(true).build()));
        LeaseGrant probe = this.leases.grantLease(call, 1);
        this.leases.minLeaseSeconds(Math.max(1, probe.ttlSeconds()));
        this.leases.revokeQuietly(probe.id());
    }

    @Override
    public boolean isConnected() {
        return this.connection.isConnected();
    }

    /** Closes the client; blocked pops return empty. Does not unregister or resign. Idempotent. */
    @Override
    public void close() {
        if (!this.connection.close()) {
            return;
        }
        this.queues.wakeWaiting();
        if (this.ownsClient) {
            this.client.close();
        }
    }

    /** The most any one call waits for etcd. */
    public Duration timeout() {
        return Duration.ofNanos(this.connection.timeoutNanos());
    }

    // ---- membership: EtcdMembership ---------------------------------------------------------

    @Override
    public void register(InstanceInfo instance, Duration ttl) {
        this.membership.register(instance, ttl);
    }

    @Override
    public void heartbeat(InstanceInfo instance, Duration ttl) {
        this.membership.heartbeat(instance, ttl);
    }

    @Override
    public void unregister(String instanceId) {
        this.membership.unregister(instanceId);
    }

    @Override
    public int liveInstanceCount() {
        return this.membership.liveInstanceCount();
    }

    @Override
    public List<InstanceInfo> liveInstances() {
        return this.membership.liveInstances();
    }

    // ---- leadership: EtcdLeadership ---------------------------------------------------------

    /**
     * {@inheritDoc}
     *
     * <p>When etcd cannot say whether an earlier term may still be trusted by its holder, nobody
     * leads for one {@code ttl}: a fence is written in its place ({@link EtcdLeadership} says when).
     */
    @Override
    public Optional<LeaderLease> tryAcquireLeadership(String instanceId, Duration ttl) {
        return this.leadership.tryAcquireLeadership(instanceId, ttl);
    }

    @Override
    public Optional<LeaderLease> seekLeadership(String instanceId, Duration ttl) {
        return this.leadership.seekLeadership(instanceId, ttl);
    }

    @Override
    public boolean releaseLeadership(String instanceId, long fencingToken) {
        return this.leadership.releaseLeadership(instanceId, fencingToken);
    }

    @Override
    public Optional<LeaderLease> currentLeader() {
        return this.leadership.currentLeader();
    }

    // ---- queues: EtcdQueues ----------------------------------------------------------------

    @Override
    public void push(String queue, byte[] message) {
        this.queues.push(queue, message);
    }

    @Override
    public Optional<byte[]> pop(String queue) {
        return this.queues.pop(queue);
    }

    @Override
    public Optional<byte[]> pop(String queue, Duration timeout) {
        return this.queues.pop(queue, timeout);
    }

    // ---- shared state: EtcdValues -----------------------------------------------------------

    @Override
    public void set(String key, byte[] value, @Nullable Duration ttl) {
        this.values.set(key, value, ttl);
    }

    @Override
    public Optional<byte[]> get(String key) {
        return this.values.get(key);
    }

    @Override
    public Map<String, byte[]> getAll(Collection<String> keys) {
        return this.values.getAll(keys);
    }

    @Override
    public void setAll(Map<String, byte[]> values, Duration ttl) {
        this.values.setAll(values, ttl);
    }

    @Override
    public boolean delete(String key) {
        return this.values.delete(key);
    }

    @Override
    public boolean compareAndSet(String key, byte @Nullable [] expected, byte @Nullable [] newValue,
            @Nullable Duration ttl) {
        return this.values.compareAndSet(key, expected, newValue, ttl);
    }

    // ---- capacity: EtcdGrants ----------------------------------------------------------------

    @Override
    public CapacityGrant requestCapacity(String pool, String instanceId, int requested, int globalMaxSize,
            Duration ttl) {
        return this.grants.requestCapacity(pool, instanceId, requested, globalMaxSize, ttl);
    }

    @Override
    public int growGrants(String pool, int globalMaxSize, Map<String, Integer> targets) {
        return this.grants.growGrants(pool, globalMaxSize, targets);
    }

    /**
     * Transactions on a pool's ledger (its version key, which serialises every change of its
     * grants) that found it changed since it was read and were tried again.
     */
    @Override
    public long capacityConflicts() {
        return this.grants.capacityConflicts();
    }

    @Override
    public void releaseCapacity(String pool, String instanceId) {
        this.grants.releaseCapacity(pool, instanceId);
    }

    @Override
    public boolean releaseCapacityOfNonMember(String pool, String holder) {
        return this.grants.releaseCapacityOfNonMember(pool, holder);
    }

    @Override
    public CapacityView capacity(String pool) {
        return this.grants.capacity(pool);
    }

    // ---- a round in one read --------------------------------------------------------------

    /**
     * A round ({@link SyncRound}: a follower's whole round, a leader's heartbeat, lease and grants)
     * with its reads in one transaction: the registration's key (keys only), the three keys of
     * leadership, the member count when asked for, each pool's version key and grant, and the
     * values asked for, all at one revision. Each step then runs as its own call would, starting
     * from what was read instead of reading it again, and makes only the calls that are left: the
     * keep-alives of the registration's and the grants' leases, and the writes when something
     * changed. A steady follower costs etcd one transaction and its keep-alives per round instead
     * of a read per step (BENCHMARKS.md, "Round seven").
     *
     * <p>Where the one read cannot serve (more reads than a transaction may hold, or a reply larger
     * than the client accepts: a value planted too large), the steps make their own calls, which
     * deal with that case one key at a time.
     */
    @Override
    public SyncRound.Reply round(SyncRound round) {
        InstanceInfo instance = round.instance();
        String id = instance.id();
        requireId(id, "instance id");
        List<Op> reads = new ArrayList<>();
        reads.add(Op.get(EtcdKeys.bytes(this.keys.member(id)), GetOption.builder().withKeysOnly(true).build()));
        reads.addAll(List.of(this.leadership.leadershipReads()));
        if (round.countMembers()) {
            reads.add(Op.get(EtcdKeys.bytes(this.keys.members()),
                    GetOption.builder().isPrefix(true).withCountOnly(true).build()));
        }
        for (SyncRound.CapacityRequest request : round.capacity()) {
            CoordinatorArguments.requireCapacityRequest(request.pool(), id, request.requested(),
                    request.globalMaxSize());
            reads.addAll(List.of(this.grants.grantReads(request.pool(), id)));
        }
        for (String key : round.reads()) {
            reads.add(Op.get(EtcdKeys.bytes(this.keys.state(key)), GetOption.DEFAULT));
        }
        if (reads.size() > EtcdValues.TXN_OPS) {
            return Coordinator.super.round(round);
        }
        TxnResponse read;
        try {
            read = this.connection.call("read a round's keys").await(this.kv.txn().Then(reads.toArray(Op[]::new)).commit());
        }
        catch (CoordinatorException ex) {
            if (!isTooLarge(ex)) {
                throw ex;
            }
            return Coordinator.super.round(round);
        }
        List<GetResponse> got = read.getGetResponses();
        GetResponse registered = got.get(0);
        this.membership.register("send a heartbeat", instance, round.instanceTtl(), registered);
        long[] registration = this.leases.registration(id);
        long roundLease = (registration != null) ? registration[0] : 0;
        EtcdLeadership.LeadershipRead leadership = new EtcdLeadership.LeadershipRead(got.get(1), got.get(2), got.get(3),
                read.getHeader().getRevision());
        Duration leaderTtl = round.leaderTtl();
        Optional<LeaderLease> leader = (leaderTtl != null) ? this.leadership.acquire(id, leaderTtl, true, leadership)
                : this.leadership.currentLeader(leadership);
        int next = 4;
        int memberCount = -1;
        if (round.countMembers()) {
            // Counted before this round's heartbeat: one more if that heartbeat brought the registration back.
            long counted = got.get(next++).getCount() + ((registered.getCount() == 0) ? 1 : 0);
            memberCount = (int) Math.min(Integer.MAX_VALUE, counted);
        }
        Duration writeTtl = round.writeTtl();
        if (!round.writes().isEmpty() && writeTtl != null) {
            if (registration != null && registration[1] <= EtcdLeases.valueTtlSeconds(writeTtl)) {
                // On the registration's lease, which this round's heartbeat just renewed: they live
                // while the instance does (SyncRound allows it). A lease granted per batch instead was
                // two more Raft proposals (its grant, and its expiry once the values were replaced):
                // in a steady fleet nearly all of etcd's proposals (BENCHMARKS.md, "Round thirteen").
                if (!this.values.setAllOnLease(round.writes(), writeTtl, roundLease)) {
                    this.leases.forgetRegistrationLease(id, roundLease);
                }
            }
            else {
                this.values.setAll(round.writes(), writeTtl);
            }
        }
        List<CapacityGrant> grants = new ArrayList<>(round.capacity().size());
        for (SyncRound.CapacityRequest request : round.capacity()) {
            grants.add(this.grants.requestCapacity(request.pool(), id, request.requested(), request.globalMaxSize(),
                    request.ttl(), EtcdGrants.grantRead(got, next), roundLease, request.growthMayWait(), true));
            next += 2;
        }
        Map<String, byte[]> values = new LinkedHashMap<>();
        for (String key : round.reads()) {
            List<KeyValue> entries = got.get(next++).getKvs();
            if (!entries.isEmpty()) {
                this.values.stateValue(this.keys.state(key), entries.get(0)).ifPresent(value -> values.put(key, value));
            }
        }
        return new SyncRound.Reply(leader, memberCount, grants, values);
    }

    // ---- plumbing --------------------------------------------------------------------------

    @Override
    public String toString() {
        return "EtcdCoordinator[" + this.connection.endpoints() + ", namespace " + this.keys + "]";
    }

    /** For tests: how often the same bad key is warned about at most. */
    void garbageWarningInterval(Duration interval) {
        this.connection.garbageWarningInterval(interval);
    }

    /** For tests: the values of this coordinator's namespace. */
    EtcdValues values() {
        return this.values;
    }

    /** For tests: the keys of this coordinator's namespace. */
    EtcdKeys keys() {
        return this.keys;
    }

    /** Checks an instance id (or lease holder, grant holder): not empty, at most {@link #MAX_ID_BYTES}. */
    static void requireId(String id, String what) {
        Objects.requireNonNull(id, what + " must not be null");
        if (id.isEmpty()) {
            throw new IllegalArgumentException(what + " must not be empty");
        }
        if (utf8(id).length > MAX_ID_BYTES) {
            throw new IllegalArgumentException(what + " must be at most " + MAX_ID_BYTES + " bytes in UTF-8, was "
                    + utf8(id).length);
        }
    }

    /** {@code value} within {@code 0..Integer.MAX_VALUE}. */
    static int saturatedInt(long value) {
        return (int) Math.max(0, Math.min(Integer.MAX_VALUE, value));
    }
}
