package io.pivotpool.etcd;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.DeleteResponse;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.pivotpool.coordinator.CapacityGrant;
import io.pivotpool.coordinator.CapacityView;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.support.CoordinatorArguments;
import io.pivotpool.coordinator.support.DuplicateInstanceIds;
import io.pivotpool.coordinator.support.Plausibility;
import io.pivotpool.coordinator.support.RemoteText;
import io.pivotpool.etcd.EtcdConnection.Range;
import io.pivotpool.etcd.EtcdRecords.GrantRecord;
import org.jspecify.annotations.Nullable;

import static io.pivotpool.etcd.EtcdConnection.absentOrUnchanged;
import static io.pivotpool.etcd.EtcdCoordinator.MAX_GRANTS;
import static io.pivotpool.etcd.EtcdCoordinator.requireId;
import static io.pivotpool.etcd.EtcdCoordinator.saturatedInt;
import static io.pivotpool.etcd.EtcdFailures.isLeaseNotFound;
import static io.pivotpool.etcd.EtcdLeases.leaseSeconds;
import static io.pivotpool.etcd.EtcdLeases.leaseTtlMillis;
import static io.pivotpool.etcd.EtcdRecords.grantRecord;
import static io.pivotpool.etcd.EtcdRecords.ledger;
import static io.pivotpool.etcd.EtcdRecords.ledgerValue;
import static io.pivotpool.etcd.EtcdRecords.utf8;

/**
 * The capacity grants of an {@link EtcdCoordinator}: each pool's grants, one key per holder on a
 * lease, and the pool's version key holding their running sum, changed together in transactions
 * that require both unchanged since read, so that the recorded grants never sum above the cap;
 * reconciling a pool's sum from its grants when it may be wrong; releasing a grant, and reaping
 * the grant of a holder that is no member; and reading a pool's grants strictly, garbage dropped.
 */
final class EtcdGrants {

    /**
     * How old a pool's last reconciliation must be (or the request's ttl, if shorter), less up to
     * half of it drawn at random by each request, before a request granted less than it asked for
     * starts another: a departed holder's share is freed within about this long of being wanted,
     * and a pool short of capacity costs about one read of every grant this often, cluster-wide.
     */
    private static final long RECONCILE_MILLIS = 1000;

    /**
     * Conflicts after which a request that would not shrink its grant keeps what it holds for this
     * round instead of trying again. When a rebalance moves a pool's demand, most of its instances
     * change their grants within one sync interval, every change serialised on the pool's version
     * key; requests that kept losing that race ran out of their time and failed the whole round
     * (30–42 a run in a fleet of 300: BENCHMARKS.md, round eleven), and every retry is one more
     * transaction through Raft for the others to queue behind. A grant kept as recorded, its lease
     * just renewed, is exactly what a renewal at the same amount returns; it grows next round. A
     * newcomer, which holds nothing yet, stops sooner ({@link #NEWCOMER_CONFLICTS_BEFORE_KEEPING}).
     * Requests that shrink keep trying (written alone after one loss): they free what the others
     * wait for.
     */
    static final int CONFLICTS_BEFORE_KEEPING = 2;

    /**
     * Conflicts after which a newcomer (no grant recorded yet) records a grant of nothing instead
     * of trying again. A deploy's newcomers ask at about the same moment, and every one that wins
     * the pool's version key makes all the others lose: tried again at once until they won, 32 of
     * them lost 406-412 transactions, and at a deploy of a hundred in a fleet of a thousand their
     * requests ran out of time (BENCHMARKS.md, round thirteen). Round thirteen then had them pause
     * at random and give up after eight losses; since the leader raises grants (round fourteen),
     * a newcomer that lost once gives up at once: the leader's next rebalance (due at once, the
     * membership having changed) gives it a target, and the leader raises its grant of nothing to
     * it. A deploy of a hundred at N = 1,000 then lost 460-561 transactions instead of 629-787, and
     * no newcomer's start waits out pauses (BENCHMARKS.md, round fifteen).
     */
    static final int NEWCOMER_CONFLICTS_BEFORE_KEEPING = 1;

    /**
     * Grants a leader raises in one transaction: with the version key, one comparison and one write
     * each, within etcd's default {@code --max-txn-ops} of {@value EtcdValues#TXN_OPS}.
     */
    static final int GROWTHS_PER_TXN = 100;

    /** Reads and transactions a leader's raising of a pool's grants makes at most in one call. */
    static final int RAISE_ATTEMPTS = 3;

    /** A pool's running sum is reconciled at most this many grant ttls apart, however right it looks. */
    private static final int AUDIT_TTLS = 8;

    private final KV kv;

    private final EtcdKeys keys;

    private final EtcdConnection connection;

    private final EtcdLeases leases;

    /** Other live processes registering an instance id of this coordinator: they get no capacity. */
    private final DuplicateInstanceIds duplicates;

    /**
     * The longest ttl this coordinator has requested a grant with: a grant lasting more than
     * {@link Plausibility#longestTtlMillis} of it is not one a member writes. 0 before the first:
     * then {@link EtcdCoordinator#MAX_TTL_MILLIS} holds.
     */
    private final AtomicLong grantTtlUsed = new AtomicLong();

    private final LongAdder capacityConflicts = new LongAdder();

    EtcdGrants(EtcdConnection connection, EtcdLeases leases, DuplicateInstanceIds duplicates) {
        this.connection = connection;
        this.leases = leases;
        this.duplicates = duplicates;
        this.kv = connection.kv();
        this.keys = connection.keys();
    }

    /**
     * A grant of up to {@code requested} of the pool's {@code globalMaxSize} for {@code instanceId},
     * as {@link io.pivotpool.coordinator.Coordinator#requestCapacity} describes.
     *
     * <p>The pool's version key holds the running sum of its grants and when it was last
     * reconciled ({@code sum:reconciledAtMillis}). Every growth of a grant is written together
     * with the new sum in a transaction that requires both the version key and the caller's grant
     * unchanged since they were read: two requests that read the same sum cannot both commit, so
     * the recorded grants never sum above the cap. A grant that does not grow is written the same
     * way, unless it lost that race once: then alone, leaving the sum above the grants' total. A
     * request reads two keys, whatever the number of holders, and a renewal at the same amount
     * writes nothing (its lease's keep-alive renews it).
     *
     * <p>A grant whose lease expires leaves the sum too high, which can only make grants smaller.
     * A request that is granted less than it asked for reconciles the pool (reads every grant,
     * drops garbage, writes the true sum) when nobody has for {@value #RECONCILE_MILLIS} ms (or
     * the ttl, if shorter), less up to half of it, drawn at random by each request, so a departed
     * instance's share is freed within about a second of being wanted, at the cost of about one
     * O(N) read per pool and second cluster-wide. A missing or invalid version key is
     * reconciled at once, and any pool after 7 to {@value #AUDIT_TTLS} ttls (drawn the same way)
     * whatever it looks like, so that a well-formed but wrong sum (written by hand, or by another
     * tenant) is not believed for longer.
     */
    CapacityGrant requestCapacity(String pool, String instanceId, int requested, int globalMaxSize,
            Duration ttl) {
        return requestCapacity(pool, instanceId, requested, globalMaxSize, ttl, null, 0, false, false);
    }

    /**
     * {@link #requestCapacity(String, String, int, int, Duration)}; {@code first}: the pool's
     * version key and the caller's grant read a moment ago (by a {@link EtcdCoordinator#round}), used for the first
     * attempt instead of reading them again; null to read them. {@code roundLease}: the lease of the
     * caller's registration, renewed by the heartbeat of the round this request is part of, or 0
     * outside a round (see {@link EtcdLeases#sharedLease}). {@code growthMayWait}: the leader is
     * about to raise this grant ({@link #growGrants}), so a grant that would grow is kept as
     * recorded, its lease renewed, without a write or a race for the version key.
     * {@code shrinkAlone}: a grant that shrinks is written alone at the first attempt, not only
     * after a loss (see below).
     */
    CapacityGrant requestCapacity(String pool, String instanceId, int requested, int globalMaxSize,
            Duration ttl, @Nullable GrantRead first, long roundLease, boolean growthMayWait, boolean shrinkAlone) {
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
        int conflicts = 0;
        // A lease granted for an attempt that lost, for the next attempt to write on: granting and
        // revoking one per attempt made each lost attempt of a newcomer (outside a round, as a
        // manager's first requests are) three Raft proposals instead of one. Granted after this
        // request was sent, it still outlives the caller's trust in the grant (which runs from the
        // sending), however late the attempt that writes on it.
        long spare = 0;
        try {
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
                    conflicts++;
                    continue;
                }
                long others = ledger[0] - mineGranted;
                int granted = (int) Math.max(0, Math.min(requested, globalMaxSize - others));
                long sinceReconciled = System.currentTimeMillis() - ledger[1];
                boolean contended = conflicts >= ((mine == null) ? NEWCOMER_CONFLICTS_BEFORE_KEEPING
                        : CONFLICTS_BEFORE_KEEPING);
                // Waiting for the leader's raise, it neither grows nor reconciles when the sum leaves
                // it no room: the raise reads every grant and writes the true sum. Reconciling
                // then made 188 of a deploy's 189 reads of every grant, 142 of them lost
                // (BENCHMARKS.md, round seventeen).
                boolean waits = growthMayWait && mine != null && requested > mineGranted && granted >= mineGranted;
                // Each request draws its own moment to reconcile: when the same moment came for a
                // fleet's every request, each that read the key before the first reconcile committed
                // read every grant too (a thousand instances made 1,500-2,000 reads, 70-86 MB, in the
                // phase the audit came due in, and demand took 17-52 s to converge instead of 11-14:
                // BENCHMARKS.md, round fourteen); drawn at random, about one request reconciles. Drawn
                // below the bounds, never above, so that an expired grant (gone a ttl after the request
                // that made the sum count it) still frees its share for the next request.
                ThreadLocalRandom random = ThreadLocalRandom.current();
                long shortest = Math.min(ttlMillis, RECONCILE_MILLIS);
                long shortAfter = shortest - random.nextLong(shortest / 2 + 1);
                long auditAfter = AUDIT_TTLS * ttlMillis - random.nextLong(ttlMillis + 1);
                if ((granted < requested && sinceReconciled >= shortAfter && !contended && !waits)
                        || sinceReconciled >= auditAfter) {
                    CapacityGrant grant = reconcileAndRequest(call, pool, instanceId, requested, globalMaxSize, ttlMillis,
                            roundLease);
                    if (grant != null) {
                        return grant;
                    }
                    conflicts++;
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
                if (!newLease && lease == current && (contended || waits) && mineGranted <= requested) {
                    // Contended, or waiting for the leader to raise it: keep the grant as recorded
                    // (its lease just renewed) rather than race on.
                    return new CapacityGrant(pool, instanceId, (int) mineGranted, saturatedInt(ledger[0]), globalMaxSize,
                            true);
                }
                if (mine == null && contended) {
                    // A contended newcomer holds nothing to keep: it records a grant of nothing, which
                    // changes no sum and so needs no version key, and grows next round. Racing on until
                    // its time ran out failed its whole round, and at a deploy of a hundred the
                    // newcomers' rounds failing in turn lost their grants and fed the race.
                    granted = 0;
                }
                if (newLease) {
                    lease = (spare != 0) ? spare : this.leases.grantLease(call, seconds).id();
                    spare = 0;
                }
                // Contended, a grant that does not grow is written alone, leaving the running sum as
                // it was (above the grants' sum by what this one gave back): the sum only has to keep
                // the grants under the cap, and a sum too high only makes grants smaller until the next
                // reconcile, which a request granted less than it asked for starts within a second.
                // So only growth waits for the version key: when a rebalance moves a pool's demand,
                // the many instances giving back no longer race the few that grow for one key. In a
                // round, a shrink is written alone at once: that is how hundreds give back after a
                // rebalance, and their racing for the key made the leader's raising of grants lose
                // too (BENCHMARKS.md, round fourteen); the leader's raising writes the true sum. A
                // request of its own (a pool just added, a leader giving back at once) tries the key
                // first, so that what it gives back is free at once for the next request. A grant
                // written again at the same amount (moved to another lease: a newcomer's first grant
                // moving onto its registration's lease at its first round) changes no sum, and racing
                // for the key with it lost 206-266 transactions a rolling deploy of a hundred
                // (BENCHMARKS.md, round fifteen): it is always written alone.
                boolean shrinks = mine != null && granted < mineGranted;
                boolean alone = (conflicts > 0 && mine != null && granted <= mineGranted) || (shrinkAlone && shrinks)
                        || (mine != null && granted == mineGranted) || (mine == null && granted == 0);
                ByteSequence grantValue = ByteSequence.from(utf8(granted + ":" + ttlMillis));
                PutOption onLease = PutOption.builder().withLeaseId(lease).build();
                TxnResponse recorded;
                try {
                    long myRevision = (mine != null) ? mine.getModRevision() : 0;
                    long versionRevision = Objects.requireNonNull(version, "the ledger is read from it").getModRevision();
                    ByteSequence sum = ledgerValue(others + granted, ledger[1]);
                    // Lost, the transaction reads both keys again instead: the next attempt starts from
                    // them without a read of its own, one round trip per attempt rather than two.
                    recorded = call.await(alone
                            ? this.kv.txn().If(absentOrUnchanged(myKey, myRevision))
                                .Then(Op.put(EtcdKeys.bytes(myKey), grantValue, onLease))
                                .Else(grantReads(pool, instanceId)).commit()
                            : this.kv.txn()
                                .If(absentOrUnchanged(versionKey, versionRevision), absentOrUnchanged(myKey, myRevision))
                                .Then(Op.put(EtcdKeys.bytes(versionKey), sum, PutOption.DEFAULT),
                                        Op.put(EtcdKeys.bytes(myKey), grantValue, onLease))
                                .Else(grantReads(pool, instanceId))
                                .commit());
                }
                catch (CoordinatorException ex) {
                    if (isLeaseNotFound(ex)) {
                        // Gone since it was renewed or granted (revoked by someone, or a spare one ran
                        // out): the next attempt renews or grants another.
                        if (!newLease) {
                            this.leases.forgetRegistrationLease(instanceId, lease);
                        }
                        continue;
                    }
                    throw ex;
                }
                if (!recorded.isSucceeded()) {
                    this.capacityConflicts.increment();
                    conflicts++;
                    if (newLease) {
                        spare = lease;
                    }
                    prefetched = grantRead(recorded.getGetResponses(), 0);
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
        finally {
            if (spare != 0) {
                this.leases.revokeQuietly(spare);
            }
        }
    }

    /**
     * Transactions on a pool's ledger that found it changed since it was read and were tried again:
     * what the version key's serialisation of grant changes costs. For probes and diagnostics.
     */
    long capacityConflicts() {
        return this.capacityConflicts.sum();
    }

    /**
     * The slow path: reads every grant of the pool, drops garbage, and records the caller's grant
     * together with the true sum, stamped as reconciled now. {@code null} if the pool changed
     * meanwhile (read again).
     */
    private @Nullable CapacityGrant reconcileAndRequest(EtcdCall call, String pool, String instanceId, int requested,
            int globalMaxSize, long ttlMillis, long roundLease) {
        // No lease is looked up here: see readGrants.
        Grants grants = readGrants(call, pool, false);
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
    record GrantRead(@Nullable KeyValue version, @Nullable KeyValue mine) {
    }

    /** The two reads a request starts from: the pool's version key, then the holder's grant. */
    Op[] grantReads(String pool, String instanceId) {
        return new Op[] { Op.get(EtcdKeys.bytes(this.keys.poolVersion(pool)), GetOption.DEFAULT),
                Op.get(EtcdKeys.bytes(this.keys.grant(pool, instanceId)), GetOption.DEFAULT) };
    }

    /** What {@link #grantReads} read, at {@code from} among a transaction's replies. */
    static GrantRead grantRead(List<GetResponse> reads, int from) {
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
     * Deletes the caller's grant alone, leaving the pool's sum as it was: above the grants' total
     * by what was given back, which only makes grants smaller until the next reconciliation (the
     * leader's raising writes the true sum, and a request granted less than it asked for starts one
     * within a second). A release that lowered the sum raced every other change of the pool for its
     * version key: at a rolling deploy of a hundred in a fleet of a thousand, the leaving instances
     * lost 204-222 of their 300 releases' transactions to the newcomers and to each other
     * (BENCHMARKS.md, round fifteen); written alone, with newcomers that leave their first grants
     * to the leader, such a deploy lost 3 transactions in all (round seventeen).
     */
    void releaseCapacity(String pool, String instanceId) {
        Objects.requireNonNull(pool, "pool must not be null");
        Objects.requireNonNull(instanceId, "instanceId must not be null");
        release(this.connection.call("release capacity of pool '" + pool + "'"), pool, instanceId, null);
    }

    /**
     * The leader's reaping: as {@link #releaseCapacity}, with every write conditional on the
     * holder's registration key being absent in the same transaction, so that a holder that
     * registered since the leader's listing keeps its grant.
     */
    boolean releaseCapacityOfNonMember(String pool, String holder) {
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
        // Only the leader's reaping lowers the sum (see releaseCapacity), and tries again: it runs a
        // pool a round, and an exact sum spares a reconcile.
        int attempts = (memberKey == null) ? 0 : 8;
        for (int attempt = 0; attempt < attempts && call.hasTimeLeft() && released == null; attempt++) {
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

    /**
     * The leader's raising of grants to their targets, as
     * {@link io.pivotpool.coordinator.Coordinator#growGrants} describes: one read of the pool's
     * grants, then transactions of up to {@value #GROWTHS_PER_TXN} raised grants each, every one
     * requiring the version key and the raised grants unchanged since they were read, and writing
     * the new sum (reconciled: it is the grants' true sum plus what was raised). Each grant is
     * rewritten on its own lease, so it still ends when its holder's would. A pool with garbage or
     * an invalid version key is left to the requests' reconciliation, which drops what needs
     * dropping. A lost transaction reads the grants again and tries once more, up to
     * {@value #RAISE_ATTEMPTS} attempts in all: during a rolling deploy of a hundred in a fleet of a
     * thousand, newcomers, leavers and reconciles changed the version key so often that 11 of 17
     * raises lost, once each a leader round, and the holders left below their targets then raced
     * each other for capacity (BENCHMARKS.md, round fifteen).
     */
    int growGrants(String pool, int globalMaxSize, Map<String, Integer> targets) {
        Objects.requireNonNull(pool, "pool must not be null");
        Objects.requireNonNull(targets, "targets must not be null");
        if (globalMaxSize < 0) {
            throw new IllegalArgumentException("globalMaxSize must not be negative, was " + globalMaxSize);
        }
        EtcdCall call = this.connection.call("raise the grants of pool '" + pool + "'");
        int below = targets.size();
        for (int attempt = 0; attempt < RAISE_ATTEMPTS && call.hasTimeLeft(); attempt++) {
            below = raiseOnce(call, pool, globalMaxSize, targets);
            if (below >= 0) {
                return below;
            }
            below = -below;
        }
        return below;
    }

    /**
     * One read of the pool's grants and the transactions raising them: how many holders stay below
     * their targets, or minus that many (at least one) when a transaction found the pool changed.
     */
    private int raiseOnce(EtcdCall call, String pool, int globalMaxSize, Map<String, Integer> targets) {
        Grants grants = readGrants(call, pool, false);
        if (grants == null || !grants.garbage().isEmpty() || grants.badVersion() != null
                || grants.versionModRevision() == 0) {
            return targets.size();
        }
        Map<String, GrantRecord> byHolder = new LinkedHashMap<>();
        long sum = 0;
        for (GrantRecord grant : grants.valid()) {
            byHolder.put(grant.holder(), grant);
            sum += grant.granted();
        }
        List<GrantRecord> raised = new ArrayList<>();
        List<Integer> to = new ArrayList<>();
        int below = 0;
        for (Map.Entry<String, Integer> target : targets.entrySet()) {
            GrantRecord grant = byHolder.get(target.getKey());
            if (grant == null || grant.entry().getLease() == 0) {
                // A member without a grant (or with one on no lease) asks for its own: there is no
                // lease here for a raised grant to end with its holder's.
                below += (target.getValue() > 0) ? 1 : 0;
                continue;
            }
            if (target.getValue() <= grant.granted()) {
                continue;
            }
            long room = globalMaxSize - sum;
            int grown = (int) Math.min(target.getValue(), grant.granted() + Math.max(0, room));
            if (grown > grant.granted()) {
                raised.add(grant);
                to.add(grown);
                sum += grown - grant.granted();
            }
            below += (grown < target.getValue()) ? 1 : 0;
        }
        String versionKey = this.keys.poolVersion(pool);
        long versionRevision = grants.versionModRevision();
        for (int from = 0; from < raised.size(); from += GROWTHS_PER_TXN) {
            int end = Math.min(raised.size(), from + GROWTHS_PER_TXN);
            long chunkSum = sum;
            for (int i = end; i < raised.size(); i++) {
                chunkSum -= to.get(i) - raised.get(i).granted();
            }
            List<Cmp> unchanged = new ArrayList<>();
            List<Op> writes = new ArrayList<>();
            unchanged.add(absentOrUnchanged(versionKey, versionRevision));
            writes.add(Op.put(EtcdKeys.bytes(versionKey), ledgerValue(chunkSum, System.currentTimeMillis()),
                    PutOption.DEFAULT));
            for (int i = from; i < end; i++) {
                GrantRecord grant = raised.get(i);
                unchanged.add(new Cmp(grant.entry().getKey(), Cmp.Op.EQUAL,
                        CmpTarget.modRevision(grant.entry().getModRevision())));
                writes.add(Op.put(grant.entry().getKey(), ByteSequence.from(utf8(to.get(i) + ":" + grant.ttlMillis())),
                        PutOption.builder().withLeaseId(grant.entry().getLease()).build()));
            }
            TxnResponse recorded;
            try {
                recorded = call.await(this.kv.txn().If(unchanged.toArray(Cmp[]::new))
                    .Then(writes.toArray(Op[]::new)).commit());
            }
            catch (CoordinatorException ex) {
                if (isLeaseNotFound(ex)) {
                    // A holder's lease ended since the read: its grant is gone; read again.
                    return -Math.max(1, below + raised.size() - from);
                }
                throw ex;
            }
            if (!recorded.isSucceeded()) {
                this.capacityConflicts.increment();
                return -Math.max(1, below + raised.size() - from);
            }
            versionRevision = recorded.getHeader().getRevision();
        }
        return below;
    }

    CapacityView capacity(String pool) {
        Objects.requireNonNull(pool, "pool must not be null");
        EtcdCall call = this.connection.call("read capacity of pool '" + pool + "'");
        Grants grants = null;
        while (grants == null && call.hasTimeLeft()) {
            grants = readGrants(call, pool, true);
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
     *
     * <p>A grant on a lease longer than its own ttl is garbage (a member's grant rides on a lease
     * of its ttl), but only a lookup of the lease can tell, and each coordinator looks each lease up
     * once. Every instance reconciles (reads every grant of a pool) when it is short, so were the
     * reconciles to look up their holders' leases, a fleet of N would make N² lookups after every
     * start or rolling deploy (with at most 32 a read, a fleet of 1,000 still made 6,176 lookups in
     * 30 s, and its requests timed out: BENCHMARKS.md, round twelve). So only
     * {@code lookUpLeases} reads do: {@link #capacity}, which the leader calls to reap one pool's
     * grants each round, at most {@value EtcdLeases#MAX_LOOKUPS_PER_READ} new leases a read, and
     * drops a grant it finds on a long lease for every instance. A reconcile still drops the grants
     * whose leases this coordinator already knows to be wrong, and counts the others: a grant counted
     * makes the sum larger, never smaller, the cap's side.
     */
    private @Nullable Grants readGrants(EtcdCall call, String pool, boolean lookUpLeases) {
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
        if (lookUpLeases) {
            this.leases.learnSomeGrantedTtls(call,
                    candidates.stream().mapToLong(grant -> grant.entry().getLease()).toArray());
        }
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
}
