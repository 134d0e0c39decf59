package io.pivotpool.etcd;

import io.pivotpool.testsupport.etcd.EtcdServer;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.PutOption;

/** A plain jetcd client of a test's etcd, to prepare or corrupt a namespace behind the coordinator's back. */
final class RawEtcd implements AutoCloseable {

    private final Client client;

    RawEtcd(EtcdServer server) {
        this.client = Client.builder().endpoints(server.endpoints().toArray(String[]::new)).build();
    }

    Client client() {
        return this.client;
    }

    /**
     * Gives a new namespace a term counter, as a namespace that has been running has: without one,
     * no term begins for one leader-ttl (a cold start is fenced like a loss of data, see
     * EtcdCoordinator). Tests about timing and the contract start from there; the leadership safety
     * tests prove the cold start itself.
     */
    void establish(String namespace) {
        establish(this.client, namespace);
    }

    static void establish(EtcdServer server, String namespace) {
        try (RawEtcd raw = new RawEtcd(server)) {
            raw.establish(namespace);
        }
    }

    /** {@link #establish(String)} through a client the test set up itself (TLS, a user). */
    static void establish(Client client, String namespace) {
        EtcdKeys keys = new EtcdKeys(namespace);
        ByteSequence term = bytes(keys.term());
        // The last term was released: its lease record says so (lease 0), as a release writes it.
        await(client.getKVClient().txn()
            .If(new Cmp(term, Cmp.Op.EQUAL, CmpTarget.version(0)))
            .Then(Op.put(term, bytes("1"), PutOption.DEFAULT),
                    Op.put(bytes(keys.leaderLease()), bytes("{\"lease\":\"0\",\"holder\":\"\"}"), PutOption.DEFAULT))
            .commit());
    }

    static ByteSequence bytes(String text) {
        return ByteSequence.from(text, StandardCharsets.UTF_8);
    }

    static <T> T await(CompletableFuture<T> future) {
        try {
            return future.get(10, TimeUnit.SECONDS);
        }
        catch (Exception ex) {
            throw new IllegalStateException("raw etcd call failed: " + ex, ex);
        }
    }

    @Override
    public void close() {
        this.client.close();
    }
}
