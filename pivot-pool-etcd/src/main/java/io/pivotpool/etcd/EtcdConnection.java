package io.pivotpool.etcd;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.support.GarbageWarnings;
import io.pivotpool.coordinator.support.RemoteText;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static io.pivotpool.etcd.EtcdFailures.isTooLarge;

/**
 * What every concern of an {@link EtcdCoordinator} shares: the jetcd clients of one cluster, the
 * keys of one namespace, whether etcd answered lately and whether the coordinator is closed, how a
 * call is named in messages ({@link #call}, {@link #describe}), and the hygiene every reader of
 * etcd needs: bounded prefix reads, dropping a bad key if unchanged, and warning about it at most
 * once per key every garbage-warning interval.
 */
final class EtcdConnection {

    // Logged under the coordinator's name, as before its concerns had classes of their own, so that
    // a logging configuration for it keeps applying.
    private static final Logger logger = LoggerFactory.getLogger(EtcdCoordinator.class);

    private final KV kv;

    private final Lease leases;

    private final Watch watch;

    private final EtcdKeys keys;

    private final String endpoints;

    private final @Nullable String secret;

    /** The etcd user, for messages (a user name is no secret); or null. */
    private final @Nullable String username;

    private final long timeoutNanos;

    private final GarbageWarnings garbageWarnings = new GarbageWarnings();

    private volatile boolean connected;

    private final AtomicBoolean closed = new AtomicBoolean();

    EtcdConnection(Client client, EtcdCoordinatorSettings settings) {
        this.kv = client.getKVClient();
        this.leases = client.getLeaseClient();
        this.watch = client.getWatchClient();
        this.keys = new EtcdKeys(settings.namespace());
        this.endpoints = String.join(",", settings.endpoints());
        this.secret = settings.password();
        this.username = settings.username();
        this.timeoutNanos = settings.timeout().toNanos();
    }

    KV kv() {
        return this.kv;
    }

    /** The jetcd lease client; the leases themselves are {@link EtcdLeases}'. */
    Lease leaseClient() {
        return this.leases;
    }

    Watch watch() {
        return this.watch;
    }

    EtcdKeys keys() {
        return this.keys;
    }

    String endpoints() {
        return this.endpoints;
    }

    /** The password, masked in every message; or null. */
    @Nullable String secret() {
        return this.secret;
    }

    @Nullable String username() {
        return this.username;
    }

    long timeoutNanos() {
        return this.timeoutNanos;
    }

    /** Whether etcd answered the last round trip (with an error of its own counts), and the coordinator is open. */
    boolean isConnected() {
        return this.connected && !this.closed.get();
    }

    /** Records whether etcd answered: see {@link EtcdCall#await}. */
    void connected(boolean answered) {
        this.connected = answered;
    }

    boolean isClosed() {
        return this.closed.get();
    }

    /** Marks the coordinator closed; whether it was open until now. */
    boolean close() {
        return this.closed.compareAndSet(false, true);
    }

    /** One SPI call: its name for messages, and the deadline all its round trips share. */
    EtcdCall call(String operation) {
        if (this.closed.get()) {
            throw new CoordinatorException(RemoteText.escapeControls(describe(operation) + ": the coordinator is closed"));
        }
        return new EtcdCall(this, operation, System.nanoTime() + this.timeoutNanos);
    }

    String describe(String operation) {
        return "etcd coordinator (" + this.endpoints + ", namespace '" + this.keys.namespace() + "') could not " + operation;
    }

    /** The key is absent ({@code modRevision} 0) or still at the mod revision read. */
    static Cmp absentOrUnchanged(String key, long modRevision) {
        ByteSequence etcdKey = EtcdKeys.bytes(key);
        return (modRevision == 0) ? new Cmp(etcdKey, Cmp.Op.EQUAL, CmpTarget.version(0))
                : new Cmp(etcdKey, Cmp.Op.EQUAL, CmpTarget.modRevision(modRevision));
    }

    /** How many keys there are under {@code prefix}, counted in place by etcd: no key or value is sent. */
    long countUnder(EtcdCall call, String prefix) {
        return call.await(this.kv.get(EtcdKeys.bytes(prefix), GetOption.builder().isPrefix(true).withCountOnly(true)
            .build())).getCount();
    }

    /** A prefix read: its entries, how many keys matched, and the revision it was read at. */
    record Range(long count, List<KeyValue> kvs, long revision) {
    }

    /**
     * Reads up to {@code limit} keys under {@code prefix} and their values, bounded in bytes as well
     * as in count: a reply beyond what the client accepts (gRPC's 4 MiB; etcd accepts values up to
     * 1.5 MiB, so four well-formed ones are enough) would fail every listing for good. Such a read is
     * made again as keys only, then one value at a time; a value too large to read even alone is
     * deleted by name if unchanged, and reported.
     */
    Range rangeBounded(EtcdCall call, String prefix, int limit) {
        try {
            GetResponse read = call.await(this.kv.get(EtcdKeys.bytes(prefix),
                    GetOption.builder().isPrefix(true).withLimit(limit).build()));
            return new Range(read.getCount(), read.getKvs(), read.getHeader().getRevision());
        }
        catch (CoordinatorException ex) {
            if (!isTooLarge(ex)) {
                throw ex;
            }
        }
        GetResponse keys = call.await(this.kv.get(EtcdKeys.bytes(prefix),
                GetOption.builder().isPrefix(true).withLimit(limit).withKeysOnly(true).build()));
        List<KeyValue> entries = new ArrayList<>(keys.getKvs().size());
        for (KeyValue key : keys.getKvs()) {
            try {
                GetResponse one = call.await(this.kv.get(key.getKey(), GetOption.DEFAULT));
                entries.addAll(one.getKvs());
            }
            catch (CoordinatorException ex) {
                if (!isTooLarge(ex)) {
                    throw ex;
                }
                dropIfUnchanged(call, key, "a value too large to read (beyond the client's largest reply)");
            }
        }
        return new Range(keys.getCount(), entries, keys.getHeader().getRevision());
    }

    /** Deletes a bad key unless someone changed it since it was read; the one who deletes it warns. */
    void dropIfUnchanged(EtcdCall call, KeyValue entry, String problem) {
        TxnResponse dropped = call.await(this.kv.txn()
            .If(new Cmp(entry.getKey(), Cmp.Op.EQUAL, CmpTarget.modRevision(entry.getModRevision())))
            .Then(Op.delete(entry.getKey(), DeleteOption.DEFAULT))
            .commit());
        if (dropped.isSucceeded()) {
            reportGarbage(entry.getKey().toString(StandardCharsets.UTF_8), problem + "; it was dropped");
        }
    }

    /**
     * Logs a bad key as a warning at most once per key every garbage-warning interval (at debug
     * level in between). Key and description may carry remote text: escaped.
     */
    void reportGarbage(String key, String found) {
        if (this.garbageWarnings.shouldWarn(key)) {
            logger.warn("etcd coordinator found garbage at key '{}': {}. Only this coordinator should write under "
                    + "namespace '{}'; this key is reported at most every {}", RemoteText.escape(key),
                    RemoteText.escape(found), RemoteText.escape(this.keys.namespace()),
                    this.garbageWarnings.interval());
        }
        else if (logger.isDebugEnabled()) {
            logger.debug("etcd coordinator found garbage at key '{}': {}", RemoteText.escape(key), RemoteText.escape(found));
        }
    }

    /** For tests: how often the same bad key is warned about at most. */
    void garbageWarningInterval(Duration interval) {
        this.garbageWarnings.interval(interval);
    }
}
