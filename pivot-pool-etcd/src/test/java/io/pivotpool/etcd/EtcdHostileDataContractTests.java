package io.pivotpool.etcd;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.PutOption;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.testsupport.contract.HostileDataContract;
import io.pivotpool.testsupport.etcd.EtcdServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import static io.pivotpool.etcd.RawEtcd.await;
import static io.pivotpool.etcd.RawEtcd.bytes;

/**
 * The hostile-data contract against a real etcd: each plant is written with plain jetcd calls in
 * the coordinator's key layout ({@link EtcdKeys}), raw strings and all.
 *
 * <p>Two plants have no exact etcd form, and take the nearest one: etcd has no members index, so a
 * member whose <i>index</i> expiry is impossible is planted on a lease of one hour, longer than its
 * own ttl; and a grant's expiry is its lease, so a grant whose {@code expiresAt} is no plausible
 * time within a day is planted without a lease (it would never expire).
 */
class EtcdHostileDataContractTests extends HostileDataContract {

    private static EtcdServer server;

    private static RawEtcd raw;

    @BeforeAll
    static void startServer() {
        server = EtcdServer.start();
        raw = new RawEtcd(server);
    }

    @AfterAll
    static void stopServer() {
        if (raw != null) {
            raw.close();
        }
        if (server != null) {
            server.close();
        }
    }

    /** etcd leases are whole seconds; the test server's shortest is 1 s. */
    @Override
    protected Duration leaseTtl() {
        return Duration.ofSeconds(1);
    }

    /** etcd's leader revokes expired leases on a timer of its own (500 ms), not the instant they end. */
    @Override
    protected Duration leaseExpiryGranularity() {
        return Duration.ofMillis(500);
    }

    @Override
    protected Coordinator createCoordinator(String namespace) {
        return EtcdCoordinator.create(EtcdCoordinatorSettings.builder()
            .endpoints(server.endpoints())
            .namespace(namespace)
            .timeout(Duration.ofSeconds(2))
            .build());
    }

    @Override
    protected void plant(String namespace, Plant plant) {
        EtcdKeys keys = new EtcdKeys(namespace);
        KV kv = raw.client().getKVClient();
        if (plant instanceof Plant.Lease lease) {
            Map<String, String> fields = new LinkedHashMap<>();
            fields.put("holder", lease.holder());
            fields.put("token", lease.token());
            fields.put("ttl", lease.ttlMillis());
            put(keys.leader(), FlatJson.write(fields), lease.expiry());
        }
        else if (plant instanceof Plant.Term term) {
            put(keys.term(), term.value(), null);
        }
        else if (plant instanceof Plant.Member member) {
            Map<String, String> fields = new LinkedHashMap<>(member.fields());
            if (member.ttlMillis() != null) {
                fields.put("ttl", member.ttlMillis());
            }
            Duration expiry = member.expiry();
            if (expiry != null && !plausibleExpiry(member.indexExpiresAt())) {
                expiry = Duration.ofHours(1);
            }
            put(keys.member(member.id()), FlatJson.write(fields), expiry);
        }
        else if (plant instanceof Plant.Members members) {
            long lease = await(raw.client().getLeaseClient().grant(60)).getID();
            List<Op> puts = new ArrayList<>();
            for (int i = 1; i <= members.count(); i++) {
                String id = "ghost-" + i;
                puts.add(Op.put(bytes(keys.member(id)),
                        bytes(FlatJson.write(Map.of("id", id, "host", "h", "startedAt", "1", "ttl", "60000"))),
                        PutOption.builder().withLeaseId(lease).build()));
                if (puts.size() == 10_000 || i == members.count()) {
                    await(kv.txn().Then(puts.toArray(Op[]::new)).commit());
                    puts.clear();
                }
            }
        }
        else if (plant instanceof Plant.Grant grant) {
            long now = System.currentTimeMillis();
            Duration expiry = null;
            String ttl = "60000";
            if (plausibleExpiry(grant.expiresAt())) {
                long left = Math.max(1, Long.parseLong(grant.expiresAt()) - now);
                expiry = Duration.ofMillis(left);
                ttl = Long.toString(left);
            }
            put(keys.grant(grant.pool(), grant.holder()), grant.granted() + ":" + ttl, expiry);
        }
        else if (plant instanceof Plant.Junk junk) {
            String value = "x".repeat(junk.bytes());
            switch (junk.target()) {
                case LEADER -> put(keys.leader(), value, null);
                case TERM -> put(keys.term(), value, null);
                case MEMBERS -> put(keys.members() + "junk", value, null);
                case CAPACITY -> put(keys.poolVersion(junk.name()), value, null);
                case STATE -> put(keys.state(junk.name()), value, null);
                case QUEUE -> put(keys.queue(junk.name()) + "junk", value, null);
            }
        }
        else if (plant instanceof Plant.Established) {
            raw.establish(namespace);
        }
        else if (plant instanceof Plant.Removed removed) {
            String key = switch (removed.target()) {
                case LEADER -> keys.leader();
                case TERM -> keys.term();
                default -> throw new IllegalArgumentException("Not a key to remove alone: " + removed);
            };
            await(kv.delete(bytes(key)));
        }
        else if (plant instanceof Plant.DataLoss) {
            // As if someone deleted the namespace (etcd itself keeps its data through restarts).
            await(kv.delete(bytes(keys.all()), DeleteOption.builder().isPrefix(true).build()));
        }
        else {
            throw new IllegalArgumentException("Unknown plant " + plant);
        }
    }

    /** Puts a raw value, on a lease of {@code expiry} (whole seconds, rounded up) or none. */
    private static void put(String key, String value, Duration expiry) {
        PutOption option = PutOption.DEFAULT;
        if (expiry != null) {
            long seconds = Math.max(1, (expiry.toMillis() + 999) / 1000);
            option = PutOption.builder().withLeaseId(await(raw.client().getLeaseClient().grant(seconds)).getID()).build();
        }
        await(raw.client().getKVClient().put(bytes(key), ByteSequence.from(value.getBytes(java.nio.charset.StandardCharsets.UTF_8)), option));
    }

    /** An expiry, epoch milliseconds, that a real write could have made: a plain decimal within the next day. */
    private static boolean plausibleExpiry(String expiresAt) {
        if (expiresAt == null || !expiresAt.matches("[1-9][0-9]{0,18}")) {
            return false;
        }
        try {
            long at = Long.parseLong(expiresAt);
            long now = System.currentTimeMillis();
            return at > now && at <= now + 86_400_000L;
        }
        catch (NumberFormatException ex) {
            return false;
        }
    }
}
