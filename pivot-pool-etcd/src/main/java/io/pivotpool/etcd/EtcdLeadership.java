package io.pivotpool.etcd;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.lease.LeaseTimeToLiveResponse;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.etcd.jetcd.options.PutOption;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.coordinator.support.Plausibility;
import io.pivotpool.coordinator.support.RemoteText;
import io.pivotpool.etcd.EtcdLeases.LeaseGrant;
import org.jspecify.annotations.Nullable;

import static io.pivotpool.etcd.EtcdConnection.absentOrUnchanged;
import static io.pivotpool.etcd.EtcdCoordinator.MAX_ID_BYTES;
import static io.pivotpool.etcd.EtcdCoordinator.MAX_LEADER_BYTES;
import static io.pivotpool.etcd.EtcdCoordinator.MAX_TTL_MILLIS;
import static io.pivotpool.etcd.EtcdCoordinator.requireId;
import static io.pivotpool.etcd.EtcdFailures.isTooLarge;
import static io.pivotpool.etcd.EtcdLeases.leaseSeconds;
import static io.pivotpool.etcd.EtcdLeases.leaseTtlMillis;
import static io.pivotpool.etcd.EtcdRecords.decimalLong;
import static io.pivotpool.etcd.EtcdRecords.leaderValue;
import static io.pivotpool.etcd.EtcdRecords.utf8;

/**
 * Leadership and fencing for an {@link EtcdCoordinator}: a term is the leader key on a lease of
 * its own, begun in the transaction that raises the term counter (the fencing token) and renewed by
 * keep-alives; a leader key or counter that cannot be trusted, or a lost counter, is replaced by a
 * fence, a leader key without holder, so that no term begins before an earlier holder's trust has
 * run out; and a leader key deleted while its lease runs lets no term begin until that lease ends.
 * The class comment of {@link EtcdCoordinator} says why the tokens keep growing.
 */
final class EtcdLeadership {

    private final KV kv;

    /** The jetcd lease client, to ask whether the last term's lease still runs. */
    private final Lease leaseClient;

    private final EtcdKeys keys;

    private final EtcdConnection connection;

    private final EtcdLeases leases;

    /**
     * The longest ttl this coordinator has used for a leader lease: a leader record lasting more
     * than {@link Plausibility#longestTtlMillis} of it is not one a member writes. 0 before the
     * first: then {@link EtcdCoordinator#MAX_TTL_MILLIS} holds. (Registrations and grants keep theirs in
     * {@link EtcdMembership} and {@link EtcdGrants}.)
     */
    private final AtomicLong leaderTtlUsed = new AtomicLong();

    /** The lease of a leader key gone early that acquisitions wait for ({@link #previousLeaseEnded}), or null. */
    private volatile @Nullable WaitedLease waitedLease;

    EtcdLeadership(EtcdConnection connection, EtcdLeases leases) {
        this.connection = connection;
        this.leases = leases;
        this.kv = connection.kv();
        this.leaseClient = connection.leaseClient();
        this.keys = connection.keys();
    }

    /**
     * A term for {@code instanceId}, begun or renewed; empty while another instance holds one.
     *
     * <p>When etcd cannot say whether an earlier term may still be trusted by its holder (the term
     * counter is missing, as at the first start of a namespace or after someone deleted it, or the
     * leader key or counter holds garbage), nobody leads for one {@code ttl}: a fence is written in
     * their place.
     */
    Optional<LeaderLease> tryAcquireLeadership(String instanceId, Duration ttl) {
        return acquire(instanceId, ttl, false, null);
    }

    /** One call: the leader record read while trying is the current lease when another instance holds it. */
    Optional<LeaderLease> seekLeadership(String instanceId, Duration ttl) {
        return acquire(instanceId, ttl, true, null);
    }

    /**
     * Acquires or renews; {@code orOther}: return another holder's valid lease instead of empty.
     * {@code first}: the leadership keys read a moment ago (by a {@link EtcdCoordinator#round}), used for the first
     * attempt instead of reading them again; null to read them.
     */
    Optional<LeaderLease> acquire(String instanceId, Duration ttl, boolean orOther,
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

    boolean releaseLeadership(String instanceId, long fencingToken) {
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

    Optional<LeaderLease> currentLeader() {
        return currentLeader(null);
    }

    /** {@link #currentLeader()}, from the leadership keys read a moment ago when {@code first} is not null. */
    Optional<LeaderLease> currentLeader(@Nullable LeadershipRead first) {
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
    record LeadershipRead(GetResponse leader, GetResponse term, GetResponse lease, long revision) {
    }

    /** The three reads every leadership step starts from, as a transaction of its own or of a round sends them. */
    Op[] leadershipReads() {
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
        this.leases.learnGrantedTtl(call, entry.getLease());
        String problem = this.leases.leaseProblem(entry.getLease(), ttlMillis);
        return new LeaderRecord(entry, holder, token, ttlMillis,
                (problem == null || problem.isEmpty()) ? problem : "a leader record " + problem);
    }
}
