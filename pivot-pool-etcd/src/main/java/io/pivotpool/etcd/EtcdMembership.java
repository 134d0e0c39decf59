package io.pivotpool.etcd;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.support.CoordinatorArguments;
import io.pivotpool.coordinator.support.DuplicateInstanceIds;
import io.pivotpool.coordinator.support.Plausibility;
import io.pivotpool.coordinator.support.RemoteText;
import io.pivotpool.etcd.EtcdConnection.Range;
import io.pivotpool.etcd.EtcdRecords.MemberRecord;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static io.pivotpool.etcd.EtcdCoordinator.MAX_LISTING_BYTES;
import static io.pivotpool.etcd.EtcdCoordinator.MAX_MEMBERS;
import static io.pivotpool.etcd.EtcdCoordinator.requireId;
import static io.pivotpool.etcd.EtcdFailures.isLeaseNotFound;
import static io.pivotpool.etcd.EtcdLeases.leaseSeconds;
import static io.pivotpool.etcd.EtcdLeases.leaseTtlMillis;
import static io.pivotpool.etcd.EtcdRecords.readMember;
import static io.pivotpool.etcd.EtcdRecords.utf8;

/**
 * The members of an {@link EtcdCoordinator}'s namespace: registering an instance (its record on
 * a lease of its own, which a heartbeat renews, writing the record again only when it changed),
 * finding other live processes that register the same id, unregistering, and listing the live
 * instances strictly (records parsed and bounded, their leases checked against their own TTL,
 * garbage dropped), reusing the last listing while the members' keys have not changed.
 */
final class EtcdMembership {

    /**
     * How long a listing of the members is reused while their keys' count and newest revision stay
     * the same: the leader lists the members every round, and in a steady cluster of a thousand
     * that is most of its round. The full listing every so often also checks the members' leases
     * again, which no revision records.
     */
    private static final long RELIST_NANOS = TimeUnit.SECONDS.toNanos(10);

    // Logged under the coordinator's name, as before its concerns had classes of their own.
    private static final Logger logger = LoggerFactory.getLogger(EtcdCoordinator.class);

    private final KV kv;

    private final EtcdKeys keys;

    private final EtcdConnection connection;

    private final EtcdLeases leases;

    /**
     * The longest ttl this coordinator has registered an instance with: a registration lasting more
     * than {@link Plausibility#longestTtlMillis} of it is not one a member writes. 0 before the
     * first: then {@link EtcdCoordinator#MAX_TTL_MILLIS} holds.
     */
    private final AtomicLong instanceTtlUsed = new AtomicLong();

    /** The record last written for each registered id, so that an unchanged heartbeat writes nothing. */
    private final Map<String, byte[]> registeredValues = new ConcurrentHashMap<>();

    /** Other live processes registering an instance id of this coordinator, as heartbeats found them. */
    private final DuplicateInstanceIds duplicates = new DuplicateInstanceIds();

    /** This coordinator's last full listing of the members ({@link #liveInstances()}), or null. */
    private volatile @Nullable Listing listing;

    EtcdMembership(EtcdConnection connection, EtcdLeases leases) {
        this.connection = connection;
        this.leases = leases;
        this.kv = connection.kv();
        this.keys = connection.keys();
    }

    /** The instance ids this coordinator registers that other live processes register too. */
    DuplicateInstanceIds duplicates() {
        return this.duplicates;
    }

    void register(InstanceInfo instance, Duration ttl) {
        register("register", instance, ttl, null);
    }

    void heartbeat(InstanceInfo instance, Duration ttl) {
        // Writing the registration again renews it, and brings it back if it had expired or was deleted.
        register("send a heartbeat", instance, ttl, null);
    }

    /**
     * Writes or renews {@code instance}'s registration. {@code present}: the registration's key read
     * keys-only a moment ago (by a {@link EtcdCoordinator#round}), or null to read it here when it is needed.
     */
    void register(String operation, InstanceInfo instance, Duration ttl, @Nullable GetResponse present) {
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

    void unregister(String instanceId) {
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
    int liveInstanceCount() {
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

    List<InstanceInfo> liveInstances() {
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
        // A bounded number at a time here too: a new leader of a thousand would otherwise make a
        // thousand lookups at once, with every change of leader (BENCHMARKS.md, round eleven).
        this.leases.learnSomeGrantedTtls(call, records.stream().mapToLong(record -> record.entry().getLease()).toArray());
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
}
