package io.pivotpool.etcd;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.DeleteResponse;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.lease.LeaseTimeToLiveResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.etcd.jetcd.options.PutOption;
import io.pivotpool.coordinator.CapacityGrant;
import io.pivotpool.coordinator.CapacityView;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.coordinator.SyncRound;
import io.pivotpool.etcd.EtcdConnection.Range;
import io.pivotpool.etcd.EtcdLeases.LeaseGrant;
import io.pivotpool.etcd.EtcdRecords.GrantRecord;
import io.pivotpool.etcd.EtcdRecords.MemberRecord;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static io.pivotpool.etcd.EtcdConnection.absentOrUnchanged;
import static io.pivotpool.etcd.EtcdLeases.leaseSeconds;
import static io.pivotpool.etcd.EtcdLeases.leaseTtlMillis;
import static io.pivotpool.etcd.EtcdFailures.isLeaseNotFound;
import static io.pivotpool.etcd.EtcdFailures.isTooLarge;
import static io.pivotpool.etcd.EtcdRecords.decimalLong;
import static io.pivotpool.etcd.EtcdRecords.grantRecord;
import static io.pivotpool.etcd.EtcdRecords.leaderValue;
import static io.pivotpool.etcd.EtcdRecords.ledger;
import static io.pivotpool.etcd.EtcdRecords.ledgerValue;
import static io.pivotpool.etcd.EtcdRecords.readMember;
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
 * the instance's registration when their TTLs match (one keep-alive renews them all); grants
 * requested on their own, and terms, have a lease of their own; a lease TTL is whole seconds, rounded up, and at
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

    /**
     * The least time between two reconciliations of a pool that a request granted less than it
     * asked for may start (or the request's ttl, if shorter): a departed holder's share is freed
     * within about this long of being wanted, and a pool short of capacity costs at most one read
     * of every grant this often, cluster-wide.
     */
    private static final long RECONCILE_MILLIS = 1000;

    /**
     * How long a listing of the members is reused while their keys' count and newest revision stay
     * the same: the leader lists the members every round, and in a steady cluster of a thousand
     * that is most of its round. The full listing every so often also checks the members' leases
     * again, which no revision records.
     */
    private static final long RELIST_NANOS = TimeUnit.SECONDS.toNanos(10);

    /** A pool's running sum is reconciled at least this many grant ttls apart, however right it looks. */
    private static final int AUDIT_TTLS = 8;

    private static final Logger logger = LoggerFactory.getLogger(EtcdCoordinator.class);


    private final Client client;

    private final EtcdConnection connection;

    private final KV kv;

    private final Lease leaseClient;

    private final EtcdLeases leases;

    private final EtcdQueues queues;

    private final EtcdValues values;

    private final Watch watch;

    private final EtcdKeys keys;

    /**
     * The longest ttl this coordinator has used for each kind of record (leases, registrations,
     * grants): a record of that kind lasting more than {@link Plausibility#longestTtlMillis} of it
     * is not one a member writes. 0 before the first: then {@link #MAX_TTL_MILLIS} holds.
     */
    private final AtomicLong leaderTtlUsed = new AtomicLong();

    private final AtomicLong instanceTtlUsed = new AtomicLong();

    private final AtomicLong grantTtlUsed = new AtomicLong();

    /** The lease of a leader key gone early that acquisitions wait for ({@link #previousLeaseEnded}), or null. */
    private volatile @Nullable WaitedLease waitedLease;

    /** The record last written for each registered id, so that an unchanged heartbeat writes nothing. */
    private final Map<String, byte[]> registeredValues = new ConcurrentHashMap<>();

    /** Other live processes registering an instance id of this coordinator, as heartbeats found them. */
    private final DuplicateInstanceIds duplicates = new DuplicateInstanceIds();


    /** This coordinator's last full listing of the members ({@link #liveInstances()}), or null. */
    private volatile @Nullable Listing listing;

    private final LongAdder capacityConflicts = new LongAdder();

    /** Whether {@link #close()} closes the client: not one the application shares. */
    private final boolean ownsClient;

    private EtcdCoordinator(Client client, boolean ownsClient, EtcdCoordinatorSettings settings) {
        this.client = client;
        this.ownsClient = ownsClient;
        this.connection = new EtcdConnection(client, settings);
        this.kv = this.connection.kv();
        this.leaseClient = this.connection.leaseClient();
        this.leases = new EtcdLeases(this.connection);
        this.queues = new EtcdQueues(this.connection);
        this.values = new EtcdValues(this.connection, this.leases);
        this.watch = this.connection.watch();
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

    // ---- membership ------------------------------------------------------------------------

    @Override
    public void register(InstanceInfo instance, Duration ttl) {
        register("register", instance, ttl, null);
    }

    @Override
    public void heartbeat(InstanceInfo instance, Duration ttl) {
        // Writing the registration again renews it, and brings it back if it had expired or was deleted.
        register("send a heartbeat", instance, ttl, null);
    }

    /**
     * Writes or renews {@code instance}'s registration. {@code present}: the registration's key read
     * keys-only a moment ago (by a {@link #round}), or null to read it here when it is needed.
     */
    private void register(String operation, InstanceInfo instance, Duration ttl, @Nullable GetResponse present) {
        Objects.requireNonNull(instance, "instance must not be null");
        requireId(instance.id(), "instance id");
        long ttlMillis = leaseTtlMillis(ttl);
        this.instanceTtlUsed.accumulateAndGet(ttlMillis, Math::max);
        Map<String, String> fields = new LinkedHashMap<>(CoordinatorArguments.requireRegistrable(instance));
        if (fields.containsKey("ttl")) {
            throw new IllegalArgumentException("instance '" + RemoteText.escape(instance.id())
                    + "' has a field named 'ttl', which the etcd coordinator keeps for the registration's own ttl");
        }
        fields.put("ttl", Long.toString(ttlMillis));
        ByteSequence value = ByteSequence.from(utf8(FlatJson.write(fields)));
        ByteSequence key = EtcdKeys.bytes(this.keys.member(instance.id()));
        long seconds = leaseSeconds(ttlMillis);
        EtcdCall call = this.connection.call(operation);
        long[] known = this.leases.registration(instance.id());
        long lease = (known != null && known[1] == seconds && this.leases.keepAlive(call, known[0])) ? known[0] : 0;
        long conflict = -1;
        if (lease != 0 && Arrays.equals(this.registeredValues.get(instance.id()), value.getBytes())) {
            // The steady state: the same record on a lease just renewed. Writing it again would be
            // a Raft proposal per instance per round for nothing; a keys-only read (no proposal,
            // no value) makes sure it is still there (a leader's listing drops garbage records)
            // and still on this instance's lease: a record on another lease was written since by
            // another process registering the same id (or by anyone else: garbage, rewritten).
            if (present == null) {
                present = call.await(this.kv.get(key, GetOption.builder().withKeysOnly(true).build()));
            }
            if (present.getCount() == 1 && present.getKvs().get(0).getLease() == lease) {
                this.duplicates.check("etcd", instance, -1, ttlMillis);
                return;
            }
            if (present.getCount() == 1) {
                conflict = otherStart(call, key, instance);
            }
        }
        if (lease == 0) {
            lease = this.leases.grantLease(call, seconds).id();
        }
        try {
            call.await(this.kv.put(key, value, PutOption.builder().withLeaseId(lease).build()));
        }
        catch (CoordinatorException ex) {
            if (!isLeaseNotFound(ex)) {
                throw ex;
            }
            // The renewed lease ran out between the keep-alive and the put: start a new one.
            lease = this.leases.grantLease(call, seconds).id();
            call.await(this.kv.put(key, value, PutOption.builder().withLeaseId(lease).build()));
        }
        long[] previous = this.leases.registered(instance.id(), lease, seconds);
        this.registeredValues.put(instance.id(), value.getBytes());
        if (previous != null && previous[0] != lease && this.leases.revocable(previous[0])) {
            this.leases.revokeQuietly(previous[0]);
        }
        this.duplicates.check("etcd", instance, conflict, ttlMillis);
    }

    /**
     * When the process that wrote the record under {@code key} started, if it is an instance
     * record of {@code instance}'s id with another start time; -1 for anything else (garbage, or
     * a record gone meanwhile), which the caller rewrites all the same.
     */
    private long otherStart(EtcdCall call, ByteSequence key, InstanceInfo instance) {
        GetResponse found = call.await(this.kv.get(key));
        if (found.getKvs().isEmpty()) {
            return -1;
        }
        try {
            long startedAt = readMember(found.getKvs().get(0), instance.id()).instance().startedAtMillis();
            return (startedAt != instance.startedAtMillis()) ? startedAt : -1;
        }
        catch (IllegalArgumentException ex) {
            return -1;
        }
    }

    @Override
    public void unregister(String instanceId) {
        Objects.requireNonNull(instanceId, "instanceId must not be null");
        EtcdCall call = this.connection.call("unregister");
        call.await(this.kv.delete(EtcdKeys.bytes(this.keys.member(instanceId))));
        this.registeredValues.remove(instanceId);
        long[] registration = this.leases.unregistered(instanceId);
        // A lease that grants ride on is left to run out: a grant kept while objects are still borrowed stays.
        if (registration != null && this.leases.revocable(registration[0])) {
            this.leases.revoke(call, registration[0]);
        }
    }

    /** A count-only range read: etcd counts the registrations in place and sends back a number. */
    @Override
    public int liveInstanceCount() {
        long counted = this.connection.countUnder(this.connection.call("count live instances"), this.keys.members());
        return (int) Math.min(Integer.MAX_VALUE, Math.max(0, counted));
    }

    /**
     * Too many registrations to be real: drops them all, and lists nobody this time. Every live
     * instance's next heartbeat registers it again. The deletion is not waited for: tens of
     * thousands of planted keys take etcd a few hundred milliseconds to delete, which would hold
     * up the leader's round for nothing (it lists nobody either way).
     */
    private List<InstanceInfo> dropMembers(String prefix) {
        this.kv.delete(EtcdKeys.bytes(prefix), DeleteOption.builder().isPrefix(true).build())
            .whenComplete((dropped, failure) -> {
                if (dropped != null && dropped.getDeleted() > MAX_MEMBERS) {
                    this.connection.reportGarbage(prefix, dropped.getDeleted() + " registrations, more than the " + MAX_MEMBERS
                            + " a namespace may hold; they were dropped and heartbeats register the live instances again");
                }
                else if (failure != null) {
                    logger.debug("etcd coordinator could not drop the registrations under '{}': {}",
                            RemoteText.escape(prefix), RemoteText.escape(String.valueOf(failure.getMessage())));
                }
            });
        return List.of();
    }

    @Override
    public List<InstanceInfo> liveInstances() {
        EtcdCall call = this.connection.call("list live instances");
        String prefix = this.keys.members();
        Listing known = this.listing;
        long now = System.nanoTime();
        if (known != null && now - known.atNanos() < RELIST_NANOS) {
            // Keys only, the newest first: joins and changed fields raise the newest revision, and
            // every departure (a lease that lapsed, an unregistration) lowers the count.
            GetResponse newest = call.await(this.kv.get(EtcdKeys.bytes(prefix), GetOption.builder().isPrefix(true)
                .withKeysOnly(true).withLimit(1).withSortField(GetOption.SortTarget.MOD)
                .withSortOrder(GetOption.SortOrder.DESCEND).build()));
            long revision = newest.getKvs().isEmpty() ? 0 : newest.getKvs().get(0).getModRevision();
            if (newest.getCount() == known.count() && revision == known.newestRevision()) {
                return known.instances();
            }
        }
        // Counted in place first: a flood of planted keys is dropped without reading ten thousand of them.
        if (this.connection.countUnder(call, prefix) > MAX_MEMBERS) {
            return dropMembers(prefix);
        }
        Range listing = this.connection.rangeBounded(call, prefix, MAX_MEMBERS + 1);
        if (listing.count() > MAX_MEMBERS) {
            return dropMembers(prefix);
        }
        List<MemberRecord> records = new ArrayList<>();
        for (KeyValue entry : listing.kvs()) {
            String key = entry.getKey().toString(StandardCharsets.UTF_8);
            String id = EtcdKeys.unsegment(key.substring(prefix.length()));
            try {
                records.add(readMember(entry, id));
            }
            catch (IllegalArgumentException ex) {
                this.connection.dropIfUnchanged(call, entry, String.valueOf(ex.getMessage()));
            }
        }
        this.leases.learnGrantedTtls(call, records.stream().mapToLong(record -> record.entry().getLease()).toArray());
        List<InstanceInfo> live = new ArrayList<>();
        long longest = Plausibility.longestTtlMillis(this.instanceTtlUsed.get());
        // What the listing keeps (and the status shows) is bounded in bytes too: a registration may
        // hold 16 KiB, ten thousand of them far more than anyone reads.
        long budget = MAX_LISTING_BYTES;
        int leftOut = 0;
        for (MemberRecord record : records) {
            String problem = this.leases.leaseProblem(record.entry().getLease(), record.ttlMillis());
            if (problem == null && record.ttlMillis() > longest) {
                problem = "whose ttl of " + record.ttlMillis() + " ms is more than " + Plausibility.TTL_FACTOR
                        + " times the instance-ttl this instance runs with, which no member writes";
            }
            if (problem == null && record.entry().getValue().size() > budget) {
                leftOut++;
            }
            else if (problem == null) {
                budget -= record.entry().getValue().size();
                live.add(record.instance());
            }
            else if (!problem.isEmpty()) {
                this.connection.dropIfUnchanged(call, record.entry(), "an instance " + problem);
            }
        }
        if (leftOut > 0) {
            this.connection.reportGarbage(prefix, leftOut + " instances left out of a listing beyond " + MAX_LISTING_BYTES + " bytes");
        }
        live.sort(Comparator.comparing(InstanceInfo::id));
        List<InstanceInfo> instances = List.copyOf(live);
        long newestRevision = 0;
        for (KeyValue entry : listing.kvs()) {
            newestRevision = Math.max(newestRevision, entry.getModRevision());
        }
        this.listing = new Listing(listing.count(), newestRevision, instances, now);
        return instances;
    }

    /**
     * A full listing: how many member keys there were and the newest one's revision, and what it
     * found; reused while both stay the same (see {@link #RELIST_NANOS}).
     */
    private record Listing(long count, long newestRevision, List<InstanceInfo> instances, long atNanos) {
    }

    // ---- leadership ------------------------------------------------------------------------

    /**
     * {@inheritDoc}
     *
     * <p>When etcd cannot say whether an earlier term may still be trusted by its holder (the term
     * counter is missing, as at the first start of a namespace or after someone deleted it, or the
     * leader key or counter holds garbage), nobody leads for one {@code ttl}: a fence is written in
     * their place.
     */
    @Override
    public Optional<LeaderLease> tryAcquireLeadership(String instanceId, Duration ttl) {
        return acquire(instanceId, ttl, false, null);
    }

    /** One call: the leader record read while trying is the current lease when another instance holds it. */
    @Override
    public Optional<LeaderLease> seekLeadership(String instanceId, Duration ttl) {
        return acquire(instanceId, ttl, true, null);
    }

    /**
     * Acquires or renews; {@code orOther}: return another holder's valid lease instead of empty.
     * {@code first}: the leadership keys read a moment ago (by a {@link #round}), used for the first
     * attempt instead of reading them again; null to read them.
     */
    private Optional<LeaderLease> acquire(String instanceId, Duration ttl, boolean orOther,
            @Nullable LeadershipRead first) {
        requireId(instanceId, "instanceId");
        long ttlMillis = leaseTtlMillis(ttl);
        long seconds = leaseSeconds(ttlMillis);
        EtcdCall call = this.connection.call("acquire leadership");
        LeadershipRead prefetched = first;
        while (call.hasTimeLeft()) {
            Leadership state = (prefetched != null) ? leadership(call, prefetched) : readLeadership(call);
            prefetched = null;
            LeaderRecord leader = state.leader();
            if (leader != null && leader.problem() == null && !leader.holder().isEmpty()) {
                String implausible = implausibleLease(state, ttlMillis);
                if (implausible != null) {
                    leader = new LeaderRecord(leader.entry(), leader.holder(), leader.token(), leader.ttlMillis(),
                            implausible);
                    state = new Leadership(leader, state.term(), state.termModRevision(), state.termProblem(),
                            state.revision(), state.previousLease());
                }
            }
            if (leader != null && leader.problem() == null) {
                if (leader.holder().isEmpty() || !leader.holder().equals(instanceId)) {
                    return (orOther && !leader.holder().isEmpty())
                            ? Optional.of(new LeaderLease(leader.holder(), leader.token(), leader.ttlMillis()))
                            : Optional.empty();
                }
                Optional<LeaderLease> renewed = renew(call, leader, instanceId, ttlMillis, seconds);
                if (renewed != null) {
                    return renewed;
                }
                continue;
            }
            if (leader != null && "".equals(leader.problem())) {
                // Its lease has just ended: the key goes with it; the next round may begin a term.
                return Optional.empty();
            }
            if (leader != null || state.termProblem() != null) {
                fence(call, state, ttlMillis, seconds);
                return Optional.empty();
            }
            if (state.previousLease() == null) {
                // No record of the last term's lease (deleted with the leader key, or written by a
                // release of an older version): whether it still runs is unknown, as after data loss.
                fence(call, state, ttlMillis, seconds);
                return Optional.empty();
            }
            if (!previousLeaseEnded(call, state, instanceId, ttlMillis)) {
                return Optional.empty();
            }
            if (state.term() == Long.MAX_VALUE) {
                throw new CoordinatorException(RemoteText.escapeControls(this.connection.describe("acquire leadership")
                        + ": the term counter at key '" + this.keys.term() + "' is exhausted ("
                        + state.term() + "); no greater fencing token exists"));
            }
            long token = Math.max(state.term() + 1, state.revision() + 1);
            LeaseGrant lease = this.leases.grantLease(call, seconds);
            TxnResponse began = call.await(this.kv.txn()
                .If(absentOrUnchanged(this.keys.leader(), 0), absentOrUnchanged(this.keys.term(), state.termModRevision()))
                .Then(Op.put(EtcdKeys.bytes(this.keys.term()), ByteSequence.from(utf8(Long.toString(token))),
                        PutOption.DEFAULT),
                        Op.put(EtcdKeys.bytes(this.keys.leader()), leaderValue(instanceId, token, ttlMillis),
                                PutOption.builder().withLeaseId(lease.id()).build()),
                        leaderLeaseRecord(lease.id(), instanceId))
                .commit());
            if (began.isSucceeded()) {
                return Optional.of(new LeaderLease(instanceId, token, ttlMillis));
            }
            this.leases.revokeQuietly(lease.id());
        }
        throw call.timedOut();
    }

    /** Renews {@code leader}'s term for its holder; {@code null} if the term changed meanwhile (read again). */
    private @Nullable Optional<LeaderLease> renew(EtcdCall call, LeaderRecord leader, String instanceId, long ttlMillis,
            long seconds) {
        if (leader.ttlMillis() == ttlMillis) {
            if (this.leases.keepAlive(call, leader.entry().getLease())) {
                return Optional.of(new LeaderLease(instanceId, leader.token(), ttlMillis));
            }
            return null;
        }
        // Another ttl: the term moves to a lease of that length, keeping its token.
        LeaseGrant lease = this.leases.grantLease(call, seconds);
        TxnResponse moved = call.await(this.kv.txn()
            .If(absentOrUnchanged(this.keys.leader(), leader.entry().getModRevision()))
            .Then(Op.put(EtcdKeys.bytes(this.keys.leader()), leaderValue(instanceId, leader.token(), ttlMillis),
                    PutOption.builder().withLeaseId(lease.id()).build()), leaderLeaseRecord(lease.id(), instanceId))
            .commit());
        if (!moved.isSucceeded()) {
            this.leases.revokeQuietly(lease.id());
            return null;
        }
        this.leases.revokeIfOwn(leader.entry().getLease());
        return Optional.of(new LeaderLease(instanceId, leader.token(), ttlMillis));
    }

    /**
     * Writes a fence in place of a garbage leader key or when the term counter is missing or
     * garbage: a leader record without holder on a lease of one {@code ttl}, which nobody can renew,
     * so that no term begins before every earlier holder's trust has run out. The counter is set to
     * the revision read, which is at least every token granted before (see the class comment).
     */
    private void fence(EtcdCall call, Leadership state, long ttlMillis, long seconds) {
        LeaseGrant lease = this.leases.grantLease(call, seconds);
        List<Op> writes = new ArrayList<>();
        writes.add(Op.put(EtcdKeys.bytes(this.keys.leader()), leaderValue("", state.revision(), ttlMillis),
                PutOption.builder().withLeaseId(lease.id()).build()));
        // A fence runs on its own lease too: deleting the fence's key lets no term begin before it ends.
        writes.add(leaderLeaseRecord(lease.id(), ""));
        if (state.termProblem() != null) {
            writes.add(Op.put(EtcdKeys.bytes(this.keys.term()), ByteSequence.from(utf8(Long.toString(state.revision()))),
                    PutOption.DEFAULT));
        }
        long leaderModRevision = (state.leader() != null) ? state.leader().entry().getModRevision() : 0;
        TxnResponse fenced = call.await(this.kv.txn()
            .If(absentOrUnchanged(this.keys.leader(), leaderModRevision),
                    absentOrUnchanged(this.keys.term(), state.termModRevision()))
            .Then(writes.toArray(Op[]::new))
            .commit());
        if (!fenced.isSucceeded()) {
            this.leases.revokeQuietly(lease.id());
            return;
        }
        if (state.leader() != null) {
            this.connection.reportGarbage(this.keys.leader(), state.leader().problem() + "; no term begins for one leader ttl");
        }
        if (state.termProblem() != null && !state.termProblem().isEmpty()) {
            this.connection.reportGarbage(this.keys.term(), state.termProblem() + "; no term begins for one leader ttl");
        }
    }

    /**
     * The record of the etcd lease a term (or a fence, holder empty) runs on
     * ({@link EtcdKeys#leaderLease()}): {@code {"lease","holder"}}; lease 0 after a release.
     */
    private Op leaderLeaseRecord(long lease, String holder) {
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("lease", Long.toString(lease));
        fields.put("holder", holder);
        return Op.put(EtcdKeys.bytes(this.keys.leaderLease()), ByteSequence.from(utf8(FlatJson.write(fields))),
                PutOption.DEFAULT);
    }

    /** What {@link #leaderLeaseRecord} wrote: the lease (0: released) and its holder. */
    private record PreviousLease(long lease, String holder) {
    }

    /**
     * Why a valid-looking lease is not one a member running this configuration could have written
     * ({@link Plausibility}), or {@code null} if it is: it lasts at most as long as a member's lease
     * does, and its token is not above the term counter.
     */
    private @Nullable String implausibleLease(Leadership state, long ttlMillis) {
        LeaderRecord leader = Objects.requireNonNull(state.leader(), "asked about a leader record");
        long longest = Plausibility.longestTtlMillis(this.leaderTtlUsed.accumulateAndGet(ttlMillis, Math::max));
        if (leader.ttlMillis() > longest) {
            return "a leader record of " + leader.ttlMillis() + " ms, more than " + Plausibility.TTL_FACTOR
                    + " times the leader-ttl this instance runs with, which no member writes";
        }
        if (state.termProblem() != null || leader.token() > state.term()) {
            return "a leader record whose token is above the term counter: no term was given it";
        }
        return null;
    }

    /**
     * Whether the lease the last term began on has ended, so that a term may begin now that the
     * leader key is gone. A leader key deleted while its lease runs (by hand, or a tenant) must not
     * let a term begin while its holder may still trust its own: this waits for that lease, which
     * its holder gives up (revokes) as soon as it sees its key gone. A lease still running after
     * {@link Plausibility#longestTtlMillis} of waiting is not a leader's: the record is ignored.
     */
    private boolean previousLeaseEnded(EtcdCall call, Leadership state, String instanceId, long ttlMillis) {
        PreviousLease record = Objects.requireNonNull(state.previousLease());
        long previous = record.lease();
        if (previous == 0 || state.termProblem() != null) {
            return true;
        }
        if (record.holder().equals(instanceId) && this.leases.isOwn(previous)) {
            // This instance's own term, its key gone: give it up, then begin afresh.
            this.leases.revokeIfOwn(previous);
            return true;
        }
        LeaseTimeToLiveResponse running = call.await(this.leaseClient.timeToLive(previous, LeaseOption.DEFAULT));
        // -1: ended (or never was); 0: under a second left, still running.
        if (running.getTTL() < 0) {
            return true;
        }
        long now = System.nanoTime();
        WaitedLease waited = this.waitedLease;
        if (waited == null || waited.lease() != previous) {
            waited = new WaitedLease(previous, now);
            this.waitedLease = waited;
        }
        long longest = Plausibility.longestTtlMillis(this.leaderTtlUsed.accumulateAndGet(ttlMillis, Math::max));
        if (now - waited.sinceNanos() > TimeUnit.MILLISECONDS.toNanos(longest)) {
            this.connection.reportGarbage(this.keys.leaderLease(), "a lease still running " + Plausibility.TTL_FACTOR
                    + " leader-ttls after its leader key went, which is no leader's; it is ignored");
            return true;
        }
        this.connection.reportGarbage(this.keys.leader(), "gone while its lease may still run (deleted); no term begins until that "
                + "lease ends");
        return false;
    }

    /** The lease {@link #previousLeaseEnded} waits for, and since when. */
    private record WaitedLease(long lease, long sinceNanos) {
    }

    @Override
    public boolean releaseLeadership(String instanceId, long fencingToken) {
        Objects.requireNonNull(instanceId, "instanceId must not be null");
        EtcdCall call = this.connection.call("release leadership");
        LeaderRecord leader = readLeadership(call).leader();
        if (leader == null || leader.problem() != null || !leader.holder().equals(instanceId)
                || leader.token() != fencingToken) {
            return false;
        }
        // The term's lease record says "released": the holder gave the term up, so the next may begin
        // at once even while the lease itself runs on (a release through another coordinator cannot
        // revoke it). A record that is missing instead means "unknown", and costs a fence.
        TxnResponse released = call.await(this.kv.txn()
            .If(absentOrUnchanged(this.keys.leader(), leader.entry().getModRevision()))
            .Then(Op.delete(EtcdKeys.bytes(this.keys.leader()), DeleteOption.DEFAULT), leaderLeaseRecord(0, ""))
            .commit());
        if (released.isSucceeded()) {
            this.leases.revokeIfOwn(leader.entry().getLease());
        }
        return released.isSucceeded();
    }

    @Override
    public Optional<LeaderLease> currentLeader() {
        return currentLeader(null);
    }

    /** {@link #currentLeader()}, from the leadership keys read a moment ago when {@code first} is not null. */
    private Optional<LeaderLease> currentLeader(@Nullable LeadershipRead first) {
        EtcdCall call = this.connection.call("read the leader");
        LeaderRecord leader = ((first != null) ? leadership(call, first) : readLeadership(call)).leader();
        if (leader == null) {
            return Optional.empty();
        }
        if (leader.problem() != null) {
            if (!leader.problem().isEmpty()) {
                this.connection.reportGarbage(this.keys.leader(), leader.problem());
            }
            return Optional.empty();
        }
        if (leader.holder().isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new LeaderLease(leader.holder(), leader.token(), leader.ttlMillis()));
    }

    /**
     * The leader key as read. {@code problem} is {@code null} for a valid record, empty for one
     * whose lease has already ended (the key is about to vanish), else what is wrong with it.
     */
    private record LeaderRecord(KeyValue entry, String holder, long token, long ttlMillis, @Nullable String problem) {
    }

    /**
     * Leader key and term counter read together. {@code termProblem}: {@code null} for a valid
     * counter, empty when it is missing, else what is wrong with it.
     */
    private record Leadership(@Nullable LeaderRecord leader, long term, long termModRevision, @Nullable String termProblem,
            long revision, @Nullable PreviousLease previousLease) {
    }

    private Leadership readLeadership(EtcdCall call) {
        ByteSequence leaderKey = EtcdKeys.bytes(this.keys.leader());
        ByteSequence termKey = EtcdKeys.bytes(this.keys.term());
        TxnResponse read;
        boolean oversized = false;
        try {
            read = call.await(this.kv.txn().Then(leadershipReads()).commit());
        }
        catch (CoordinatorException ex) {
            if (!isTooLarge(ex)) {
                throw ex;
            }
            // A value beyond what the client accepts in one reply: look at the keys' metadata only.
            GetOption keysOnly = GetOption.builder().withKeysOnly(true).build();
            read = call.await(this.kv.txn().Then(Op.get(leaderKey, keysOnly), Op.get(termKey, keysOnly)).commit());
            oversized = true;
        }
        long revision = read.getHeader().getRevision();
        if (oversized) {
            List<KeyValue> leaderEntries = read.getGetResponses().get(0).getKvs();
            LeaderRecord leader = leaderEntries.isEmpty() ? null : new LeaderRecord(leaderEntries.get(0), "", 0, 0,
                    "a value too large to read (beyond the client's largest reply)");
            List<KeyValue> termEntries = call.await(this.kv.get(termKey, GetOption.builder().withKeysOnly(true).build()))
                .getKvs();
            // The leader is garbage, so only a fence can follow, and a fence needs the counter's revision, not its value.
            return new Leadership(leader, 0, termEntries.isEmpty() ? 0 : termEntries.get(0).getModRevision(),
                    termEntries.isEmpty() ? "" : null, revision, null);
        }
        return leadership(call, new LeadershipRead(read.getGetResponses().get(0), read.getGetResponses().get(1),
                read.getGetResponses().get(2), revision));
    }

    /** The three keys of leadership as one transaction read them, at the store's {@code revision}. */
    private record LeadershipRead(GetResponse leader, GetResponse term, GetResponse lease, long revision) {
    }

    /** The three reads every leadership step starts from, as a transaction of its own or of a round sends them. */
    private Op[] leadershipReads() {
        return new Op[] { Op.get(EtcdKeys.bytes(this.keys.leader()), GetOption.DEFAULT),
                Op.get(EtcdKeys.bytes(this.keys.term()), GetOption.DEFAULT),
                Op.get(EtcdKeys.bytes(this.keys.leaderLease()), GetOption.DEFAULT) };
    }

    /** Checks what {@link #leadershipReads} read: the leader record, the term counter, the last term's lease. */
    private Leadership leadership(EtcdCall call, LeadershipRead read) {
        long revision = read.revision();
        List<KeyValue> leaderEntries = read.leader().getKvs();
        List<KeyValue> termEntries = read.term().getKvs();
        LeaderRecord leader = leaderEntries.isEmpty() ? null : readLeader(call, leaderEntries.get(0));
        long term = 0;
        long termModRevision = 0;
        String termProblem = "";
        if (!termEntries.isEmpty()) {
            KeyValue entry = termEntries.get(0);
            termModRevision = entry.getModRevision();
            try {
                if (entry.getValue().size() > 19) {
                    throw new IllegalArgumentException("longer than any 64-bit decimal");
                }
                term = decimalLong(entry.getValue().toString(StandardCharsets.UTF_8));
                termProblem = null;
            }
            catch (IllegalArgumentException ex) {
                termProblem = "a value that is not a decimal integer of at most 64 bits, not a term counter";
            }
            if (termProblem == null && term > revision) {
                // A token is max(last + 1, revision + 1), written in a later revision: never above the store's.
                termProblem = "a term counter (" + term + ") above the store's revision (" + revision
                        + "), which no term was given; it is reset";
            }
        }
        PreviousLease previousLease = null;
        List<KeyValue> leaseEntries = read.lease().getKvs();
        if (!leaseEntries.isEmpty() && leaseEntries.get(0).getValue().size() <= 64 + MAX_ID_BYTES) {
            try {
                Map<String, String> fields = FlatJson.read(leaseEntries.get(0).getValue().toString(StandardCharsets.UTF_8));
                String holder = fields.get("holder");
                if (fields.size() == 2 && holder != null) {
                    previousLease = new PreviousLease(decimalLong(fields.get("lease")), holder);
                }
            }
            catch (IllegalArgumentException ex) {
                // Not a record of ours: unknown, as if absent (a fence follows, and the next term overwrites it).
            }
        }
        return new Leadership(leader, term, termModRevision, termProblem, revision, previousLease);
    }

    private LeaderRecord readLeader(EtcdCall call, KeyValue entry) {
        long token;
        long ttlMillis;
        String holder;
        try {
            if (entry.getValue().size() > MAX_LEADER_BYTES) {
                throw new IllegalArgumentException("a leader record larger than " + MAX_LEADER_BYTES + " bytes");
            }
            Map<String, String> fields = FlatJson.read(entry.getValue().toString(StandardCharsets.UTF_8));
            if (fields.size() != 3 || !fields.containsKey("holder")) {
                throw new IllegalArgumentException("not a leader record of holder, token and ttl");
            }
            holder = fields.get("holder");
            token = decimalLong(fields.get("token"));
            ttlMillis = decimalLong(fields.get("ttl"));
            if (ttlMillis <= 0 || ttlMillis > MAX_TTL_MILLIS || utf8(holder).length > MAX_ID_BYTES) {
                throw new IllegalArgumentException("a leader record whose ttl or holder is out of bounds");
            }
        }
        catch (IllegalArgumentException ex) {
            return new LeaderRecord(entry, "", 0, 0, "a value that is not a leader record (" + ex.getMessage() + ")");
        }
        this.leases.learnGrantedTtls(call, entry.getLease());
        String problem = this.leases.leaseProblem(entry.getLease(), ttlMillis);
        return new LeaderRecord(entry, holder, token, ttlMillis,
                (problem == null || problem.isEmpty()) ? problem : "a leader record " + problem);
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
    public void set(String key, byte[] value, Duration ttl) {
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
    public boolean compareAndSet(String key, byte[] expected, byte[] newValue, Duration ttl) {
        return this.values.compareAndSet(key, expected, newValue, ttl);
    }

    // ---- capacity --------------------------------------------------------------------------

    /**
     * {@inheritDoc}
     *
     * <p>The pool's version key holds the running sum of its grants and when it was last
     * reconciled ({@code sum:reconciledAtMillis}). Every change of a grant is written together
     * with the new sum in a transaction that requires both the version key and the caller's grant
     * unchanged since they were read: two requests that read the same sum cannot both commit, so
     * the recorded grants never sum above the cap. A request reads two keys, whatever the number
     * of holders, and a renewal at the same amount writes nothing (its lease's keep-alive renews
     * it).
     *
     * <p>A grant whose lease expires leaves the sum too high, which can only make grants smaller.
     * A request that is granted less than it asked for reconciles the pool (reads every grant,
     * drops garbage, writes the true sum) when nobody has for {@value #RECONCILE_MILLIS} ms (or
     * the ttl, if shorter), so a departed instance's share is freed within about a second of being
     * wanted, at the cost of at most one O(N) read per pool and second cluster-wide. A missing or invalid version key is reconciled at once, and
     * any pool every {@value #AUDIT_TTLS} ttls whatever it looks like, so that a well-formed but
     * wrong sum (written by hand, or by another tenant) is not believed for longer.
     */
    @Override
    public CapacityGrant requestCapacity(String pool, String instanceId, int requested, int globalMaxSize,
            Duration ttl) {
        return requestCapacity(pool, instanceId, requested, globalMaxSize, ttl, null, 0);
    }

    /**
     * {@link #requestCapacity(String, String, int, int, Duration)}; {@code first}: the pool's
     * version key and the caller's grant read a moment ago (by a {@link #round}), used for the first
     * attempt instead of reading them again; null to read them. {@code roundLease}: the lease of the
     * caller's registration, renewed by the heartbeat of the round this request is part of, or 0
     * outside a round (see {@link #sharedLease}).
     */
    private CapacityGrant requestCapacity(String pool, String instanceId, int requested, int globalMaxSize,
            Duration ttl, @Nullable GrantRead first, long roundLease) {
        CoordinatorArguments.requireCapacityRequest(pool, instanceId, requested, globalMaxSize);
        requireId(instanceId, "instanceId");
        this.duplicates.requireNotHeld(instanceId);
        long ttlMillis = leaseTtlMillis(ttl);
        this.grantTtlUsed.accumulateAndGet(ttlMillis, Math::max);
        long seconds = leaseSeconds(ttlMillis);
        EtcdCall call = this.connection.call("request capacity of pool '" + pool + "'");
        String myKey = this.keys.grant(pool, instanceId);
        String versionKey = this.keys.poolVersion(pool);
        GrantRead prefetched = first;
        while (call.hasTimeLeft()) {
            GrantRead read = (prefetched != null) ? prefetched
                    : grantRead(call.await(this.kv.txn().Then(grantReads(pool, instanceId)).commit()).getGetResponses(), 0);
            prefetched = null;
            KeyValue version = read.version();
            KeyValue mine = read.mine();
            long[] ledger = (version != null) ? ledger(version) : null;
            GrantRecord own = (mine != null) ? ownGrant(mine, instanceId) : null;
            long mineGranted = (own != null) ? own.granted() : 0;
            if (ledger == null || (mine != null && own == null) || ledger[0] < mineGranted) {
                CapacityGrant grant = reconcileAndRequest(call, pool, instanceId, requested, globalMaxSize, ttlMillis,
                        roundLease);
                if (grant != null) {
                    return grant;
                }
                continue;
            }
            long others = ledger[0] - mineGranted;
            int granted = (int) Math.max(0, Math.min(requested, globalMaxSize - others));
            long sinceReconciled = System.currentTimeMillis() - ledger[1];
            if ((granted < requested && sinceReconciled >= Math.min(ttlMillis, RECONCILE_MILLIS))
                    || sinceReconciled >= AUDIT_TTLS * ttlMillis) {
                CapacityGrant grant = reconcileAndRequest(call, pool, instanceId, requested, globalMaxSize, ttlMillis,
                        roundLease);
                if (grant != null) {
                    return grant;
                }
                continue;
            }
            long shared = this.leases.sharedLease(instanceId, roundLease, seconds);
            long current = (own != null && own.ttlMillis() == ttlMillis) ? this.leases.renewed(call, Objects.requireNonNull(mine, "own is read from it").getLease(), shared) : 0;
            long lease = (shared != 0) ? shared : current;
            boolean newLease = lease == 0;
            if (!newLease && lease == current && mineGranted == granted) {
                // The steady state: the same amount, its lease just renewed. Writing it again would change no
                // sum, only cost a Raft proposal per instance and pool every round.
                return new CapacityGrant(pool, instanceId, granted, saturatedInt(others + granted), globalMaxSize, true);
            }
            if (newLease) {
                lease = this.leases.grantLease(call, seconds).id();
            }
            TxnResponse recorded;
            try {
                recorded = call.await(this.kv.txn()
                    .If(absentOrUnchanged(versionKey, Objects.requireNonNull(version, "the ledger is read from it").getModRevision()),
                            absentOrUnchanged(myKey, (mine != null) ? mine.getModRevision() : 0))
                    .Then(Op.put(EtcdKeys.bytes(versionKey), ledgerValue(others + granted, ledger[1]), PutOption.DEFAULT),
                            Op.put(EtcdKeys.bytes(myKey), ByteSequence.from(utf8(granted + ":" + ttlMillis)),
                                    PutOption.builder().withLeaseId(lease).build()))
                    .commit());
            }
            catch (CoordinatorException ex) {
                if (!newLease && isLeaseNotFound(ex)) {
                    // Gone since it was renewed (revoked by someone): the next attempt renews or grants another.
                    this.leases.forgetRegistrationLease(instanceId, lease);
                    continue;
                }
                throw ex;
            }
            if (!recorded.isSucceeded()) {
                this.capacityConflicts.increment();
                if (newLease) {
                    this.leases.revokeQuietly(lease);
                }
                continue;
            }
            if (mine != null && mine.getLease() != lease) {
                this.leases.revokeIfOwn(mine.getLease());
            }
            // renewed: the previous grant was still live (its lease had not expired, nothing lost it)
            return new CapacityGrant(pool, instanceId, granted, saturatedInt(others + granted), globalMaxSize,
                    own != null);
        }
        throw call.timedOut();
    }

    /**
     * Transactions on a pool's ledger that found it changed since it was read and were tried again:
     * what the version key's serialisation of grant changes costs. For probes and diagnostics.
     */
    public long capacityConflicts() {
        return this.capacityConflicts.sum();
    }

    /**
     * The slow path: reads every grant of the pool, drops garbage, and records the caller's grant
     * together with the true sum, stamped as reconciled now. {@code null} if the pool changed
     * meanwhile (read again).
     */
    private @Nullable CapacityGrant reconcileAndRequest(EtcdCall call, String pool, String instanceId, int requested,
            int globalMaxSize, long ttlMillis, long roundLease) {
        Grants grants = readGrants(call, pool);
        if (grants == null) {
            return null;
        }
        long others = 0;
        int holders = 0;
        KeyValue mine = null;
        long mineTtl = 0;
        for (GrantRecord grant : grants.valid()) {
            if (grant.holder().equals(instanceId)) {
                mine = grant.entry();
                mineTtl = grant.ttlMillis();
            }
            else {
                others += grant.granted();
                holders++;
            }
        }
        if (holders >= MAX_GRANTS) {
            return new CapacityGrant(pool, instanceId, 0, saturatedInt(others), globalMaxSize, mine != null);
        }
        int granted = (int) Math.max(0, Math.min(requested, globalMaxSize - others));
        long shared = this.leases.sharedLease(instanceId, roundLease, leaseSeconds(ttlMillis));
        long current = (mine != null && mineTtl == ttlMillis) ? this.leases.renewed(call, Objects.requireNonNull(mine, "own is read from it").getLease(), shared) : 0;
        long lease = (shared != 0) ? shared : current;
        boolean newLease = lease == 0;
        if (newLease) {
            lease = this.leases.grantLease(call, leaseSeconds(ttlMillis)).id();
        }
        String versionKey = this.keys.poolVersion(pool);
        List<Cmp> unchanged = new ArrayList<>();
        unchanged.add(absentOrUnchanged(versionKey, grants.versionModRevision()));
        List<Op> writes = new ArrayList<>();
        writes.add(Op.put(EtcdKeys.bytes(versionKey), ledgerValue(others + granted, System.currentTimeMillis()),
                PutOption.DEFAULT));
        writes.add(Op.put(EtcdKeys.bytes(this.keys.grant(pool, instanceId)),
                ByteSequence.from(utf8(granted + ":" + ttlMillis)), PutOption.builder().withLeaseId(lease).build()));
        for (Garbage bad : grants.garbage()) {
            unchanged.add(new Cmp(bad.entry().getKey(), Cmp.Op.EQUAL, CmpTarget.modRevision(bad.entry().getModRevision())));
            writes.add(Op.delete(bad.entry().getKey(), DeleteOption.DEFAULT));
        }
        TxnResponse recorded;
        try {
            recorded = call.await(this.kv.txn().If(unchanged.toArray(Cmp[]::new)).Then(writes.toArray(Op[]::new)).commit());
        }
        catch (CoordinatorException ex) {
            if (!newLease && isLeaseNotFound(ex)) {
                this.leases.forgetRegistrationLease(instanceId, lease);
                return null;
            }
            throw ex;
        }
        if (!recorded.isSucceeded()) {
            this.capacityConflicts.increment();
            if (newLease) {
                this.leases.revokeQuietly(lease);
            }
            return null;
        }
        for (Garbage bad : grants.garbage()) {
            this.connection.reportGarbage(bad.key(), bad.problem() + "; it was dropped");
        }
        if (grants.badVersion() != null) {
            this.connection.reportGarbage(versionKey, grants.badVersion() + "; it was replaced");
        }
        if (mine != null && mine.getLease() != lease) {
            this.leases.revokeIfOwn(mine.getLease());
        }
        return new CapacityGrant(pool, instanceId, granted, saturatedInt(others + granted), globalMaxSize, mine != null);
    }

    /** A pool's version key and one holder's grant, as {@link #grantReads} read them. */
    private record GrantRead(@Nullable KeyValue version, @Nullable KeyValue mine) {
    }

    /** The two reads a request starts from: the pool's version key, then the holder's grant. */
    private Op[] grantReads(String pool, String instanceId) {
        return new Op[] { Op.get(EtcdKeys.bytes(this.keys.poolVersion(pool)), GetOption.DEFAULT),
                Op.get(EtcdKeys.bytes(this.keys.grant(pool, instanceId)), GetOption.DEFAULT) };
    }

    /** What {@link #grantReads} read, at {@code from} among a transaction's replies. */
    private static GrantRead grantRead(List<GetResponse> reads, int from) {
        return new GrantRead(first(reads.get(from)), first(reads.get(from + 1)));
    }

    private static @Nullable KeyValue first(GetResponse read) {
        return read.getKvs().isEmpty() ? null : read.getKvs().get(0);
    }

    /** The caller's own grant record, or {@code null} if it is garbage or not on a lease of ours. */
    private @Nullable GrantRecord ownGrant(KeyValue entry, String instanceId) {
        try {
            GrantRecord grant = grantRecord(entry, instanceId);
            return this.leases.isOwn(entry.getLease()) ? grant : null;
        }
        catch (IllegalArgumentException ex) {
            return null;
        }
    }

    /**
     * Deletes the caller's grant and lowers the pool's sum by it in one transaction; if the pool
     * keeps changing until the timeout, or its ledger is not one, deletes the grant alone (the sum
     * then stays too high until the next reconciliation, which only makes grants smaller).
     */
    @Override
    public void releaseCapacity(String pool, String instanceId) {
        Objects.requireNonNull(pool, "pool must not be null");
        Objects.requireNonNull(instanceId, "instanceId must not be null");
        release(this.connection.call("release capacity of pool '" + pool + "'"), pool, instanceId, null);
    }

    /**
     * The leader's reaping: as {@link #releaseCapacity}, with every write conditional on the
     * holder's registration key being absent in the same transaction, so that a holder that
     * registered since the leader's listing keeps its grant.
     */
    @Override
    public boolean releaseCapacityOfNonMember(String pool, String holder) {
        Objects.requireNonNull(pool, "pool must not be null");
        Objects.requireNonNull(holder, "holder must not be null");
        return release(this.connection.call("release the grant of pool '" + pool + "' held by a non-member"), pool, holder,
                this.keys.member(holder));
    }

    /**
     * Gives back {@code instanceId}'s grant, only while {@code memberKey} is absent when it is not
     * null; returns whether a grant was deleted.
     */
    private boolean release(EtcdCall call, String pool, String instanceId, @Nullable String memberKey) {
        String myKey = this.keys.grant(pool, instanceId);
        List<Cmp> unlessMember = (memberKey == null) ? List.of() : List.of(absentOrUnchanged(memberKey, 0));
        String versionKey = this.keys.poolVersion(pool);
        KeyValue released = null;
        for (int attempt = 0; attempt < 8 && call.hasTimeLeft() && released == null; attempt++) {
            TxnResponse read = call.await(this.kv.txn().Then(Op.get(EtcdKeys.bytes(versionKey), GetOption.DEFAULT),
                    Op.get(EtcdKeys.bytes(myKey), GetOption.DEFAULT)).commit());
            KeyValue version = first(read.getGetResponses().get(0));
            KeyValue mine = first(read.getGetResponses().get(1));
            if (mine == null) {
                return false;
            }
            long[] ledger = (version != null) ? ledger(version) : null;
            // A reaped grant is on its holder's lease, never on one of ours: read it as any grant.
            GrantRecord own = (memberKey == null) ? ownGrant(mine, instanceId) : anyGrant(mine, instanceId);
            if (ledger == null || own == null || ledger[0] < own.granted()) {
                break;
            }
            List<Cmp> conditions = new ArrayList<>(unlessMember);
            conditions.add(absentOrUnchanged(versionKey,
                    Objects.requireNonNull(version, "the ledger is read from it").getModRevision()));
            conditions.add(absentOrUnchanged(myKey, mine.getModRevision()));
            TxnResponse done = call.await(this.kv.txn()
                .If(conditions.toArray(Cmp[]::new))
                .Then(Op.put(EtcdKeys.bytes(versionKey), ledgerValue(ledger[0] - own.granted(), ledger[1]), PutOption.DEFAULT),
                        Op.delete(EtcdKeys.bytes(myKey), DeleteOption.DEFAULT))
                .commit());
            if (done.isSucceeded()) {
                released = mine;
            }
            else if (memberKey != null && !stillNoMember(call, memberKey)) {
                return false;
            }
            else {
                this.capacityConflicts.increment();
            }
        }
        if (released == null) {
            TxnResponse deleted = call.await(this.kv.txn()
                .If(unlessMember.toArray(Cmp[]::new))
                .Then(Op.delete(EtcdKeys.bytes(myKey), DeleteOption.builder().withPrevKV(true).build()))
                .commit());
            List<KeyValue> before = deleted.isSucceeded() ? deleted.getDeleteResponses().get(0).getPrevKvs() : List.of();
            released = before.isEmpty() ? null : before.get(0);
        }
        if (released != null && this.leases.isOwn(released.getLease()) && this.leases.revocable(released.getLease())) {
            this.leases.revoke(call, released.getLease());
        }
        return released != null;
    }

    private static @Nullable GrantRecord anyGrant(KeyValue entry, String holder) {
        try {
            return grantRecord(entry, holder);
        }
        catch (IllegalArgumentException ex) {
            return null;
        }
    }

    /** Whether {@code memberKey} is still absent: a reaping whose transaction failed goes on only then. */
    private boolean stillNoMember(EtcdCall call, String memberKey) {
        return call.await(this.kv.get(EtcdKeys.bytes(memberKey), GetOption.builder().withCountOnly(true).build()))
            .getCount() == 0;
    }

    @Override
    public CapacityView capacity(String pool) {
        Objects.requireNonNull(pool, "pool must not be null");
        EtcdCall call = this.connection.call("read capacity of pool '" + pool + "'");
        Grants grants = null;
        while (grants == null && call.hasTimeLeft()) {
            grants = readGrants(call, pool);
        }
        if (grants == null) {
            throw call.timedOut();
        }
        for (Garbage bad : grants.garbage()) {
            this.connection.dropIfUnchanged(call, bad.entry(), bad.problem());
        }
        Map<String, Integer> view = new LinkedHashMap<>();
        long total = 0;
        for (GrantRecord grant : grants.valid()) {
            view.put(grant.holder(), grant.granted());
            total += grant.granted();
        }
        return new CapacityView(pool, view, saturatedInt(total));
    }

    private record Garbage(KeyValue entry, String key, String problem) {
    }

    /**
     * One read of a pool: its valid grants, the garbage to drop, what is wrong with the version key
     * ({@code null}: nothing; a request overwrites it anyway), and the revisions read.
     */
    private record Grants(List<GrantRecord> valid, List<Garbage> garbage, @Nullable String badVersion, long versionModRevision,
            long revision) {
    }

    /** Too many grants to be real: drops them all, and their holders request again. */
    private void dropGrants(EtcdCall call, String grantPrefix) {
        DeleteResponse dropped = call.await(this.kv.delete(EtcdKeys.bytes(grantPrefix),
                DeleteOption.builder().isPrefix(true).build()));
        if (dropped.getDeleted() > MAX_GRANTS) {
            this.connection.reportGarbage(grantPrefix, dropped.getDeleted() + " grants, more than the " + MAX_GRANTS
                    + " a pool may have; they were dropped and their holders request again");
        }
    }

    /**
     * The pool's version and live grants, read at one revision; garbage listed to be dropped.
     * {@code null} if there were too many grants to be real and they were dropped (read again).
     */
    private @Nullable Grants readGrants(EtcdCall call, String pool) {
        String prefix = this.keys.pool(pool);
        String grantPrefix = this.keys.grants(pool);
        String versionKey = this.keys.poolVersion(pool);
        // Counted in place first, as the members are: a flood is dropped without being read.
        if (this.connection.countUnder(call, grantPrefix) > MAX_GRANTS) {
            dropGrants(call, grantPrefix);
            return null;
        }
        Range read = this.connection.rangeBounded(call, prefix, MAX_GRANTS + 2);
        if (read.count() > MAX_GRANTS + 1) {
            dropGrants(call, grantPrefix);
            return null;
        }
        List<GrantRecord> candidates = new ArrayList<>();
        List<Garbage> garbage = new ArrayList<>();
        long versionModRevision = 0;
        String badVersion = null;
        for (KeyValue entry : read.kvs()) {
            String key = entry.getKey().toString(StandardCharsets.UTF_8);
            if (key.equals(versionKey)) {
                versionModRevision = entry.getModRevision();
                if (ledger(entry) == null) {
                    badVersion = "a value that is not a pool's sum of grants (sum:reconciledAtMillis)";
                }
                continue;
            }
            if (!key.startsWith(grantPrefix)) {
                garbage.add(new Garbage(entry, key, "a key this coordinator does not write"));
                continue;
            }
            String holder = EtcdKeys.unsegment(key.substring(grantPrefix.length()));
            try {
                candidates.add(grantRecord(entry, holder));
            }
            catch (IllegalArgumentException ex) {
                garbage.add(new Garbage(entry, key, "a grant that is not granted:ttl within limits (holder "
                        + RemoteText.escape(holder) + ")"));
            }
        }
        this.leases.learnGrantedTtls(call, candidates.stream().mapToLong(grant -> grant.entry().getLease()).toArray());
        List<GrantRecord> valid = new ArrayList<>();
        long longest = Plausibility.longestTtlMillis(this.grantTtlUsed.get());
        for (GrantRecord grant : candidates) {
            String problem = this.leases.leaseProblem(grant.entry().getLease(), grant.ttlMillis());
            if (problem == null && grant.ttlMillis() > longest) {
                problem = "of " + grant.ttlMillis() + " ms, more than " + Plausibility.TTL_FACTOR
                        + " times the instance-ttl this instance runs with, which no member writes";
            }
            if (problem == null) {
                valid.add(grant);
            }
            else if (!problem.isEmpty()) {
                garbage.add(new Garbage(grant.entry(), grant.entry().getKey().toString(StandardCharsets.UTF_8),
                        "a grant " + problem));
            }
        }
        return new Grants(valid, garbage, badVersion, versionModRevision, read.revision());
    }

    // ---- a follower's round -------------------------------------------------------------------

    /**
     * A follower's round ({@link SyncRound}) with its reads in one transaction: the registration's
     * key (keys only), the three keys of leadership, the member count when asked for, each pool's
     * version key and grant, and the values asked for, all at one revision. Each step then runs as
     * its own call would, starting from what was read instead of reading it again, and makes only
     * the calls that are left: the keep-alives of the registration's and the grants' leases, and
     * the writes when something changed. A steady follower costs etcd one transaction and its
     * keep-alives per round instead of a read per step (BENCHMARKS.md, "Round seven").
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
        reads.addAll(List.of(leadershipReads()));
        if (round.countMembers()) {
            reads.add(Op.get(EtcdKeys.bytes(this.keys.members()),
                    GetOption.builder().isPrefix(true).withCountOnly(true).build()));
        }
        for (SyncRound.CapacityRequest request : round.capacity()) {
            CoordinatorArguments.requireCapacityRequest(request.pool(), id, request.requested(),
                    request.globalMaxSize());
            reads.addAll(List.of(grantReads(request.pool(), id)));
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
        register("send a heartbeat", instance, round.instanceTtl(), registered);
        long[] registration = this.leases.registration(id);
        long roundLease = (registration != null) ? registration[0] : 0;
        LeadershipRead leadership = new LeadershipRead(got.get(1), got.get(2), got.get(3),
                read.getHeader().getRevision());
        Duration leaderTtl = round.leaderTtl();
        Optional<LeaderLease> leader = (leaderTtl != null) ? acquire(id, leaderTtl, true, leadership)
                : currentLeader(leadership);
        int next = 4;
        int memberCount = -1;
        if (round.countMembers()) {
            // Counted before this round's heartbeat: one more if that heartbeat brought the registration back.
            long counted = got.get(next++).getCount() + ((registered.getCount() == 0) ? 1 : 0);
            memberCount = (int) Math.min(Integer.MAX_VALUE, counted);
        }
        Duration writeTtl = round.writeTtl();
        if (!round.writes().isEmpty() && writeTtl != null) {
            this.values.setAll(round.writes(), writeTtl);
        }
        List<CapacityGrant> grants = new ArrayList<>(round.capacity().size());
        for (SyncRound.CapacityRequest request : round.capacity()) {
            grants.add(requestCapacity(request.pool(), id, request.requested(), request.globalMaxSize(),
                    request.ttl(), grantRead(got, next), roundLease));
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

    // ---- leases ----------------------------------------------------------------------------

    // ---- plumbing --------------------------------------------------------------------------

    @Override
    public String toString() {
        return "EtcdCoordinator[" + this.connection.endpoints() + ", namespace " + this.keys + "]";
    }

    /** For tests: how often the same bad key is warned about at most. */
    void garbageWarningInterval(Duration interval) {
        this.connection.garbageWarningInterval(interval);
    }

    /** For tests: the keys of this coordinator's namespace. */
    EtcdKeys keys() {
        return this.keys;
    }

    private static void requireId(String id, String what) {
        Objects.requireNonNull(id, what + " must not be null");
        if (id.isEmpty()) {
            throw new IllegalArgumentException(what + " must not be empty");
        }
        if (utf8(id).length > MAX_ID_BYTES) {
            throw new IllegalArgumentException(what + " must be at most " + MAX_ID_BYTES + " bytes in UTF-8, was "
                    + utf8(id).length);
        }
    }

    static int saturatedInt(long value) {
        return (int) Math.max(0, Math.min(Integer.MAX_VALUE, value));
    }


}
