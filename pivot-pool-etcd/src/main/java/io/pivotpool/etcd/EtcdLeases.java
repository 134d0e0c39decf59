package io.pivotpool.etcd;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

import io.etcd.jetcd.Lease;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.lease.LeaseTimeToLiveResponse;
import io.etcd.jetcd.options.LeaseOption;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.support.CoordinatorArguments;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static io.pivotpool.etcd.EtcdCoordinator.MAX_TTL_MILLIS;
import static io.pivotpool.etcd.EtcdFailures.isLeaseNotFound;

/**
 * The etcd leases of an {@link EtcdCoordinator}: granting, renewing ({@code keepAliveOnce}) and
 * revoking them, the TTLs they are granted with (whole seconds, rounded up, and at least the
 * server's minimum), and what the coordinator knows of leases: which it granted itself (each
 * holds one key of its own, so revoking it harms nobody), which lease each registration is on and
 * which registration leases carry grants (never revoked: left to run out with their grants), and
 * the granted TTL of every lease seen on a record, checked once each against the record's own TTL
 * (a bounded number per read of many records).
 */
final class EtcdLeases {

    /** The longest an etcd lease may be (etcd's MaxLeaseTTL). */
    private static final long MAX_ETCD_LEASE_SECONDS = 9_000_000_000L;

    /**
     * The most leases one read of a pool's grants or of the members looks up
     * ({@link #learnSomeGrantedTtls}); only the leader's reads look leases up (its listing, and its
     * reads of a pool's grants to reap them), since a fleet's reconciles looking up every holder's
     * lease made storms of lookups (56,833 from 457 reconciles at N = 300: BENCHMARKS.md, round
     * eleven). A new leader's first listing of a thousand members would be a thousand lookups at
     * once; bounded, a record on a lease longer than its ttl among a thousand is still found, a few
     * reads later.
     */
    static final int MAX_LOOKUPS_PER_READ = 32;

    /** The most leases each of the maps below remembers; the least recently used are forgotten first. */
    private static final int MAX_TRACKED_LEASES = 4096;

    // Logged under the coordinator's name, as before its concerns had classes of their own.
    private static final Logger logger = LoggerFactory.getLogger(EtcdCoordinator.class);

    /** The jetcd lease client. */
    private final Lease leases;

    private final EtcdConnection connection;

    /** Leases this coordinator granted: each holds one key of its own, so revoking it harms nobody. */
    private final Map<Long, Boolean> ownLeases = boundedMap();

    /** Granted TTL (seconds) of leases seen on records, checked once each: a lease's granted TTL never changes. */
    private final Map<Long, Long> grantedTtls = boundedMap();

    /** The lease and its TTL in seconds this coordinator last registered each instance with. */
    private final Map<String, long[]> registrations = new ConcurrentHashMap<>();

    /** Registration leases that grants were recorded on ({@link #sharedLease}): never revoked, left to run out. */
    private final Set<Long> leasesCarryingGrants = ConcurrentHashMap.newKeySet();

    /** The server's shortest lease, learnt at connect (etcd raises shorter TTLs to it). */
    private volatile long minLeaseSeconds = 2;

    EtcdLeases(EtcdConnection connection) {
        this.connection = connection;
        this.leases = connection.leaseClient();
    }

    /** Whether this coordinator granted {@code lease} (and so may revoke it, see {@link #revocable}). */
    boolean isOwn(long lease) {
        return this.ownLeases.containsKey(lease);
    }

    /** The lease and its TTL in seconds {@code instanceId} was last registered with, or null. */
    long @Nullable [] registration(String instanceId) {
        return this.registrations.get(instanceId);
    }

    /** Records {@code instanceId}'s registration on {@code lease}; the one it replaces, or null. */
    long @Nullable [] registered(String instanceId, long lease, long seconds) {
        return this.registrations.put(instanceId, new long[] { lease, seconds });
    }

    /** Forgets {@code instanceId}'s registration; the one it had, or null. */
    long @Nullable [] unregistered(String instanceId) {
        return this.registrations.remove(instanceId);
    }

    /** Learnt at {@link EtcdCoordinator#connect()}: the server's shortest lease. */
    void minLeaseSeconds(long seconds) {
        this.minLeaseSeconds = seconds;
    }

    /** A lease this coordinator was granted: its id, and the TTL etcd gave it (at least its minimum). */
    record LeaseGrant(long id, long ttlSeconds) {
    }

    /**
     * The lease a grant of {@code seconds} is recorded on in a round: the lease of the caller's
     * registration, which that round's heartbeat has just renewed ({@code roundLease}), when it has the
     * grant's length; 0 outside a round, or for a grant of another length (it keeps a lease of its
     * own). On the registration's lease, the heartbeat's one keep-alive renews the registration and
     * every grant of the instance together, instead of a keep-alive per pool and round: a grant then
     * lives as long as the registration does, which the manager renews in the same round anyway.
     */
    long sharedLease(String instanceId, long roundLease, long seconds) {
        long[] registration = (roundLease != 0) ? this.registrations.get(instanceId) : null;
        if (registration == null || registration[0] != roundLease || registration[1] != seconds) {
            return 0;
        }
        if (this.leasesCarryingGrants.size() > MAX_TRACKED_LEASES) {
            this.leasesCarryingGrants.clear();
        }
        this.leasesCarryingGrants.add(roundLease);
        return roundLease;
    }

    /**
     * Renews the lease of a grant as read: {@code lease} when it is renewed (nothing to do when it is
     * {@code shared}, the registration's, renewed by the round's heartbeat), else 0 (no longer there,
     * or moving onto the shared lease: its own lease need not be renewed any more).
     */
    long renewed(EtcdCall call, long lease, long shared) {
        if (shared != 0) {
            return (lease == shared) ? lease : 0;
        }
        return keepAlive(call, lease) ? lease : 0;
    }

    /** A registration's lease found gone (revoked by someone): the next heartbeat registers on a new one. */
    void forgetRegistrationLease(String instanceId, long lease) {
        long[] registration = this.registrations.get(instanceId);
        if (registration != null && registration[0] == lease) {
            this.registrations.remove(instanceId, registration);
        }
    }

    /**
     * Whether a lease of ours may be revoked without taking a registration or a grant with it: not
     * a current registration's, nor one that grants were recorded on ({@link #sharedLease}), which
     * is left to run out with its grants.
     */
    boolean revocable(long lease) {
        if (this.leasesCarryingGrants.contains(lease)) {
            return false;
        }
        for (long[] registration : this.registrations.values()) {
            if (registration[0] == lease) {
                return false;
            }
        }
        return true;
    }

    LeaseGrant grantLease(EtcdCall call, long seconds) {
        var granted = call.await(this.leases.grant(seconds));
        this.ownLeases.put(granted.getID(), Boolean.TRUE);
        this.grantedTtls.put(granted.getID(), granted.getTTL());
        return new LeaseGrant(granted.getID(), granted.getTTL());
    }

    /** Renews a lease for its granted TTL; whether it still existed. */
    boolean keepAlive(EtcdCall call, long lease) {
        if (lease == 0) {
            return false;
        }
        try {
            LeaseKeepAliveResponse renewed = call.await(this.leases.keepAliveOnce(lease));
            return renewed.getTTL() > 0;
        }
        catch (CoordinatorException ex) {
            if (isLeaseNotFound(ex)) {
                return false;
            }
            throw ex;
        }
    }

    void revoke(EtcdCall call, long lease) {
        try {
            call.await(this.leases.revoke(lease));
        }
        catch (CoordinatorException ex) {
            // Only hygiene: the lease ends by itself within its TTL.
            logger.debug("etcd coordinator could not revoke lease {}: {}", lease, ex.getMessage());
        }
        this.ownLeases.remove(lease);
    }

    void revokeIfOwn(long lease) {
        if (lease != 0 && this.ownLeases.containsKey(lease) && revocable(lease)) {
            revokeQuietly(lease);
        }
    }

    /** Revokes a lease of ours in the background: it holds no key any more, so waiting for it gains nothing. */
    void revokeQuietly(long lease) {
        this.ownLeases.remove(lease);
        if (this.connection.isClosed()) {
            return;
        }
        try {
            this.leases.revoke(lease).exceptionally(failure -> null);
        }
        catch (RuntimeException ex) {
            logger.debug("etcd coordinator could not revoke lease {}: {}", lease, ex.getMessage());
        }
    }

    /**
     * Looks up the granted TTL of a leader record's lease if not seen before; a lookup that fails
     * fails the call: whether the term may be trusted turns on it.
     */
    void learnGrantedTtl(EtcdCall call, long lease) {
        if (lease == 0 || this.grantedTtls.containsKey(lease)) {
            return;
        }
        LeaseTimeToLiveResponse response = call.await(this.leases.timeToLive(lease, LeaseOption.DEFAULT));
        this.grantedTtls.put(lease, grantedOrGone(response));
    }

    /**
     * Looks up, in parallel, the granted TTLs of at most {@value #MAX_LOOKUPS_PER_READ} of the
     * leases in {@code leaseIds} not seen before (the first ones, in the order given); the others stay
     * unknown until a later read. A lookup that fails leaves its lease unknown instead of failing
     * the read. An unknown lease is trusted until checked ({@link #leaseProblem}), which only lets
     * a record count for a while longer.
     */
    void learnSomeGrantedTtls(EtcdCall call, long... leaseIds) {
        Map<Long, CompletableFuture<LeaseTimeToLiveResponse>> lookups = new LinkedHashMap<>();
        for (long lease : leaseIds) {
            if (lookups.size() == MAX_LOOKUPS_PER_READ) {
                break;
            }
            if (lease != 0 && !this.grantedTtls.containsKey(lease) && !lookups.containsKey(lease)) {
                lookups.put(lease, this.leases.timeToLive(lease, LeaseOption.DEFAULT));
            }
        }
        for (Map.Entry<Long, CompletableFuture<LeaseTimeToLiveResponse>> lookup : lookups.entrySet()) {
            try {
                this.grantedTtls.put(lookup.getKey(), grantedOrGone(call.await(lookup.getValue())));
            }
            catch (CoordinatorException ex) {
                logger.debug("etcd coordinator could not look up lease {}; it stays unchecked: {}", lookup.getKey(),
                        ex.getMessage());
            }
        }
    }

    /** A lease's granted TTL in seconds; 0 for "gone": TTL -1, the lease has ended (its keys are going with it). */
    private static long grantedOrGone(LeaseTimeToLiveResponse response) {
        return (response.getTTL() < 0) ? 0L : response.getGrantedTTL();
    }

    /**
     * What is wrong with a record's lease: {@code null} if it ends within the record's own TTL (as
     * etcd rounds it) or has not been looked up yet ({@link #learnSomeGrantedTtls}), empty if it
     * has already ended, else a description.
     */
    @Nullable String leaseProblem(long lease, long ttlMillis) {
        if (lease == 0) {
            return "without expiry (no lease)";
        }
        Long granted = this.grantedTtls.get(lease);
        if (granted == null) {
            return null;
        }
        if (granted == 0L) {
            return "";
        }
        long allowed = Math.max(leaseSeconds(ttlMillis), this.minLeaseSeconds);
        if (granted > allowed) {
            return "on a lease of " + granted + " s, longer than its own ttl of " + ttlMillis + " ms";
        }
        return null;
    }

    /** A TTL of a lease (registration, leadership, grant): positive and at most {@link EtcdCoordinator#MAX_TTL_MILLIS}. */
    static long leaseTtlMillis(Duration ttl) {
        CoordinatorArguments.requirePositiveTtl(ttl);
        if (ttl.compareTo(Duration.ofMillis(MAX_TTL_MILLIS)) > 0) {
            throw new IllegalArgumentException("ttl must be at most " + Duration.ofMillis(MAX_TTL_MILLIS)
                    + " for an etcd lease, was " + ttl);
        }
        return Math.max(1, ttl.toMillis());
    }

    /** A TTL of a shared-state value in whole seconds, rounded up: positive and at most etcd's longest lease. */
    static long valueTtlSeconds(Duration ttl) {
        CoordinatorArguments.requirePositiveTtl(ttl);
        if (ttl.compareTo(Duration.ofSeconds(MAX_ETCD_LEASE_SECONDS)) > 0) {
            throw new IllegalArgumentException("ttl must be at most " + MAX_ETCD_LEASE_SECONDS + " s for an etcd lease, was "
                    + ttl);
        }
        return ttl.getSeconds() + ((ttl.getNano() > 0) ? 1 : 0);
    }

    /** Whole seconds, rounded up: an etcd lease never ends before the TTL asked for. */
    static long leaseSeconds(long ttlMillis) {
        return Math.max(1, (ttlMillis + 999) / 1000);
    }

    private static <K, V> Map<K, V> boundedMap() {
        return java.util.Collections.synchronizedMap(new LinkedHashMap<K, V>(64, 0.75f, true) {

            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
                return size() > MAX_TRACKED_LEASES;
            }
        });
    }
}
