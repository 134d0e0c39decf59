package io.pivotpool.etcd;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

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
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.support.CoordinatorArguments;
import org.jspecify.annotations.Nullable;

import static io.pivotpool.etcd.EtcdFailures.isLeaseNotFound;
import static io.pivotpool.etcd.EtcdFailures.isTooLarge;
import static io.pivotpool.etcd.EtcdLeases.valueTtlSeconds;
import static io.pivotpool.etcd.EtcdRecords.STATE_TAG;
import static io.pivotpool.etcd.EtcdRecords.tagged;

/**
 * The shared state of an {@link EtcdCoordinator}: values under the namespace's state keys, each
 * tagged so that a value this coordinator did not write is reported rather than returned, with a
 * TTL on a lease of its own ({@link #set}) or one lease per batch ({@link #setAll}). Batched
 * reads ({@link #getAll}) go in transactions of up to {@value #TXN_OPS} operations, or as one
 * range over a prefix that many keys share, of which the last read is kept so that the next reads
 * only what changed; a prefix whose range was refused is read by name for a while.
 */
final class EtcdValues {

    /** Operations per transaction of a batched read or write: etcd's default {@code --max-txn-ops} is 128. */
    static final int TXN_OPS = 128;

    /** Keys sharing a prefix that {@link #getAll} reads with one range instead of by name. */
    private static final int RANGE_READ_KEYS = 64;

    /** How long a prefix whose range was refused (crowded, or too large) is read by name instead. */
    private static final long RANGE_REFUSED_NANOS = TimeUnit.MINUTES.toNanos(1);

    /** The most prefixes remembered as refused; beyond it they are forgotten and tried again. */
    private static final int MAX_REFUSED_RANGES = 1024;

    /** Prefixes whose range read {@link #getAll} gave up on, until when (System.nanoTime()). */
    private final Map<String, Long> rangeRefusedUntil = new ConcurrentHashMap<>();

    private final KV kv;

    private final EtcdKeys keys;

    private final EtcdConnection connection;

    private final EtcdLeases leases;

    EtcdValues(EtcdConnection connection, EtcdLeases leases) {
        this.connection = connection;
        this.leases = leases;
        this.kv = connection.kv();
        this.keys = connection.keys();
    }

    void set(String key, byte[] value, @Nullable Duration ttl) {
        Objects.requireNonNull(key, "key must not be null");
        Objects.requireNonNull(value, "value must not be null");
        long seconds = (ttl != null) ? valueTtlSeconds(ttl) : 0;
        EtcdCall call = this.connection.call("set '" + key + "'");
        long lease = (ttl != null) ? this.leases.grantLease(call, seconds).id() : 0;
        call.await(this.kv.put(EtcdKeys.bytes(this.keys.state(key)), tagged(STATE_TAG, value),
                PutOption.builder().withLeaseId(lease).build()));
    }

    Optional<byte[]> get(String key) {
        Objects.requireNonNull(key, "key must not be null");
        String stateKey = this.keys.state(key);
        GetResponse read = this.connection.call("get '" + key + "'").await(this.kv.get(EtcdKeys.bytes(stateKey)));
        if (read.getKvs().isEmpty()) {
            return Optional.empty();
        }
        return stateValue(stateKey, read.getKvs().get(0));
    }

    Optional<byte[]> stateValue(String stateKey, KeyValue entry) {
        byte[] value = entry.getValue().getBytes();
        if (value.length == 0 || value[0] != STATE_TAG) {
            this.connection.reportGarbage(stateKey, "a value this coordinator did not write (no '" + (char) STATE_TAG + "' tag)");
            return Optional.empty();
        }
        return Optional.of(Arrays.copyOfRange(value, 1, value.length));
    }

    /**
     * One round trip whatever the number of keys. Keys that share a prefix by the hundred (a leader
     * reads every member's demand report of a pool: {@code pivot.capacity:<pool>:demand:<id>})
     * are read with one range over that prefix; the rest in transactions of up to
     * {@value #TXN_OPS} reads each (etcd's default limit of operations per transaction). All are
     * sent before any is awaited. At a thousand members with three pools that is 3 ranges instead
     * of 24 transactions of 128 reads, each of which etcd serves as a linearizable read of its own.
     * (Reading only what changed since the last range, with {@code min_mod_revision}, was tried and
     * taken out again: it cut the bytes etcd sends the leader 25-fold but not the read's time, since
     * etcd still reads every entry to filter it, which did not pay for its hundred lines:
     * BENCHMARKS.md, round ten.)
     */
    Map<String, byte[]> getAll(Collection<String> keys) {
        List<String> ordered = List.copyOf(keys);
        Map<String, byte[]> values = new LinkedHashMap<>();
        if (ordered.isEmpty()) {
            return values;
        }
        EtcdCall call = this.connection.call("get " + ordered.size() + " keys");
        Map<String, List<String>> byPrefix = new LinkedHashMap<>();
        for (String key : ordered) {
            byPrefix.computeIfAbsent(rangePrefix(key), prefix -> new ArrayList<>()).add(key);
        }
        Map<String, CompletableFuture<GetResponse>> ranges = new LinkedHashMap<>();
        List<String> single = new ArrayList<>();
        long now = System.nanoTime();
        byPrefix.forEach((prefix, group) -> {
            Long refusedUntil = this.rangeRefusedUntil.get(prefix);
            if (refusedUntil != null && now - refusedUntil < 0) {
                single.addAll(group);
            }
            else if (group.size() >= RANGE_READ_KEYS) {
                ranges.put(prefix, this.kv.get(EtcdKeys.bytes(this.keys.state(prefix)), GetOption.builder()
                    .isPrefix(true).withLimit(rangeLimit(group.size())).build()));
            }
            else {
                single.addAll(group);
            }
        });
        Map<String, byte[]> found = new HashMap<>();
        List<CompletableFuture<TxnResponse>> pages = sendReads(single);
        ranges.forEach((prefix, range) -> {
            List<String> group = Objects.requireNonNull(byPrefix.get(prefix), "a prefix of the groups");
            GetResponse read = awaitRange(call, range);
            if (read == null || read.isMore()) {
                // More keys under the prefix than a range should read (planted, or reports of
                // departed members not yet expired), or values too large for one reply: read by
                // name, and so for a while, so that such a prefix does not cost both reads each round.
                if (this.rangeRefusedUntil.size() > MAX_REFUSED_RANGES) {
                    this.rangeRefusedUntil.clear();
                }
                this.rangeRefusedUntil.put(prefix, System.nanoTime() + RANGE_REFUSED_NANOS);
                awaitReads(call, group, sendReads(group), found);
                return;
            }
            // Matched on the key's exact bytes: a planted key that is not valid UTF-8 never stands
            // for another key asked for.
            Map<ByteSequence, String> wanted = new HashMap<>();
            group.forEach(key -> wanted.put(EtcdKeys.bytes(this.keys.state(key)), key));
            for (KeyValue entry : read.getKvs()) {
                String key = wanted.get(entry.getKey());
                if (key != null) {
                    stateValue(this.keys.state(key), entry).ifPresent(value -> found.put(key, value));
                }
            }
        });
        awaitReads(call, single, pages, found);
        for (String key : ordered) {
            byte[] value = found.get(key);
            if (value != null) {
                values.put(key, value);
            }
        }
        return values;
    }

    /** The most keys a range of {@link #getAll} reads for a group of {@code wanted} keys. */
    private static int rangeLimit(int wanted) {
        return 2 * wanted + RANGE_READ_KEYS;
    }

    /**
     * The part of a key up to its last {@code ':'}, which keys of one kind share: a range is read
     * only over a prefix that ends a segment of the key, never over part of an id. Empty if none.
     */
    private static String rangePrefix(String key) {
        int colon = key.lastIndexOf(':');
        return (colon < 0) ? "" : key.substring(0, colon + 1);
    }

    /** A range's reply, or null when it was larger than the client accepts. */
    private static @Nullable GetResponse awaitRange(EtcdCall call, CompletableFuture<GetResponse> range) {
        try {
            return call.await(range);
        }
        catch (CoordinatorException ex) {
            if (!isTooLarge(ex)) {
                throw ex;
            }
            return null;
        }
    }

    private List<CompletableFuture<TxnResponse>> sendReads(List<String> ordered) {
        List<CompletableFuture<TxnResponse>> pages = new ArrayList<>();
        for (int from = 0; from < ordered.size(); from += TXN_OPS) {
            Op[] reads = ordered.subList(from, Math.min(ordered.size(), from + TXN_OPS)).stream()
                .map(key -> Op.get(EtcdKeys.bytes(this.keys.state(key)), GetOption.DEFAULT))
                .toArray(Op[]::new);
            pages.add(this.kv.txn().Then(reads).commit());
        }
        return pages;
    }

    private void awaitReads(EtcdCall call, List<String> ordered, List<CompletableFuture<TxnResponse>> pages,
            Map<String, byte[]> found) {
        int i = 0;
        for (CompletableFuture<TxnResponse> page : pages) {
            int first = i;
            i = Math.min(ordered.size(), i + TXN_OPS);
            List<GetResponse> reads;
            try {
                reads = call.await(page).getGetResponses();
            }
            catch (CoordinatorException ex) {
                if (!isTooLarge(ex)) {
                    throw ex;
                }
                // Values larger together than a reply may be (gRPC's 4 MiB; etcd takes values of up to
                // 1.5 MiB, so three planted ones are enough): one key at a time instead, so that the
                // round of an instance whose keys someone filled does not fail for good.
                reads = new ArrayList<>();
                for (String key : ordered.subList(first, i)) {
                    reads.add(call.await(this.kv.get(EtcdKeys.bytes(this.keys.state(key)), GetOption.DEFAULT)));
                }
            }
            for (int k = 0; k < reads.size(); k++) {
                String key = ordered.get(first + k);
                GetResponse read = reads.get(k);
                if (!read.getKvs().isEmpty()) {
                    stateValue(this.keys.state(key), read.getKvs().get(0)).ifPresent(value -> found.put(key, value));
                }
            }
        }
    }

    /**
     * One lease for the whole batch (rather than one per value, as {@link #set} takes), then
     * transactions of up to {@value #TXN_OPS} writes each, all sent before any is awaited: two
     * round trips and one Raft proposal per transaction, whatever the number of keys.
     */
    void setAll(Map<String, byte[]> values, Duration ttl) {
        long seconds = valueTtlSeconds(CoordinatorArguments.requirePositiveTtl(ttl));
        if (values.isEmpty()) {
            return;
        }
        EtcdCall call = this.connection.call("set " + values.size() + " keys");
        putAll(call, values, this.leases.grantLease(call, seconds).id());
    }

    /**
     * As {@link #setAll}, on {@code lease}, a lease already granted and kept alive by its owner
     * (a registration's, in a round): no lease is granted, so the batch is one Raft proposal per
     * transaction, and no lease is left to expire (another proposal) once the values are
     * replaced. Falls back to {@link #setAll} with {@code ttl} when that lease is gone; returns
     * whether the values went on {@code lease}.
     */
    boolean setAllOnLease(Map<String, byte[]> values, Duration ttl, long lease) {
        CoordinatorArguments.requirePositiveTtl(ttl);
        if (values.isEmpty()) {
            return true;
        }
        try {
            putAll(this.connection.call("set " + values.size() + " keys"), values, lease);
            return true;
        }
        catch (CoordinatorException ex) {
            if (!isLeaseNotFound(ex)) {
                throw ex;
            }
            setAll(values, ttl);
            return false;
        }
    }

    private void putAll(EtcdCall call, Map<String, byte[]> values, long lease) {
        List<Op> writes = new ArrayList<>();
        PutOption withLease = PutOption.builder().withLeaseId(lease).build();
        values.forEach((key, value) -> {
            Objects.requireNonNull(key, "key must not be null");
            Objects.requireNonNull(value, "value must not be null");
            writes.add(Op.put(EtcdKeys.bytes(this.keys.state(key)), tagged(STATE_TAG, value), withLease));
        });
        List<CompletableFuture<TxnResponse>> pages = new ArrayList<>();
        for (int from = 0; from < writes.size(); from += TXN_OPS) {
            pages.add(this.kv.txn().Then(writes.subList(from, Math.min(writes.size(), from + TXN_OPS))
                .toArray(Op[]::new)).commit());
        }
        for (CompletableFuture<TxnResponse> page : pages) {
            call.await(page);
        }
    }

    boolean delete(String key) {
        Objects.requireNonNull(key, "key must not be null");
        DeleteResponse deleted = this.connection.call("delete '" + key + "'").await(this.kv.delete(EtcdKeys.bytes(this.keys.state(key))));
        return deleted.getDeleted() > 0;
    }

    boolean compareAndSet(String key, byte @Nullable [] expected, byte @Nullable [] newValue,
            @Nullable Duration ttl) {
        Objects.requireNonNull(key, "key must not be null");
        long seconds = (ttl != null) ? valueTtlSeconds(ttl) : 0;
        String stateKey = this.keys.state(key);
        ByteSequence etcdKey = EtcdKeys.bytes(stateKey);
        EtcdCall call = this.connection.call("compare and set '" + key + "'");
        long lease = (ttl != null && newValue != null) ? this.leases.grantLease(call, seconds).id() : 0;
        Cmp matches = (expected == null) ? new Cmp(etcdKey, Cmp.Op.EQUAL, CmpTarget.version(0))
                : new Cmp(etcdKey, Cmp.Op.EQUAL, CmpTarget.value(tagged(STATE_TAG, expected)));
        Op write = (newValue == null) ? Op.delete(etcdKey, DeleteOption.DEFAULT)
                : Op.put(etcdKey, tagged(STATE_TAG, newValue), PutOption.builder().withLeaseId(lease).build());
        TxnResponse outcome = call.await(this.kv.txn().If(matches).Then(write).Else(Op.get(etcdKey, GetOption.DEFAULT)).commit());
        if (outcome.isSucceeded()) {
            return true;
        }
        if (lease != 0) {
            this.leases.revokeQuietly(lease);
        }
        List<KeyValue> current = outcome.getGetResponses().isEmpty() ? List.of() : outcome.getGetResponses().get(0).getKvs();
        if (!current.isEmpty()) {
            stateValue(stateKey, current.get(0));
        }
        return false;
    }
}
