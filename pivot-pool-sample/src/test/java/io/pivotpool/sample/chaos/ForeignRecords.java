package io.pivotpool.sample.chaos;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.PutOption;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.pivotpool.coordinator.InstanceInfo;

/**
 * Writes records under the instances' namespace the way a tenant of the same server could:
 * straight to the backend, in the coordinator's own format, well formed and plausible (lifetimes
 * within what a member of this cluster could have written), but written by nobody in the cluster.
 * Scenario (f) of the chaos test plants them under load (issue 15). The key layout is the
 * backends' own ({@code RedisKeys}, {@code EtcdKeys}), written out here on purpose: a change of
 * layout should break this test, not be followed by it silently.
 */
interface ForeignRecords extends AutoCloseable {

    /** The term counter as stored now (the last fencing token given), 0 when there is none. */
    long term();

    /** A leader lease held by {@code holder} with {@code token}, its ttl and expiry both {@code life}. */
    void lease(String holder, long token, Duration life);

    /** The term counter set to {@code value}, as given. */
    void term(String value);

    /** A grant of {@code granted} of {@code pool} to {@code holder}, expiring in {@code life}. */
    void grant(String pool, String holder, int granted, Duration life);

    /** A registration of {@code id} as an instance of {@code application}, for {@code life}. */
    void member(String id, String application, Duration life);

    /** An application value (the coordinator's {@code set}: targets, demand reports) for {@code life}. */
    void value(String key, String value, Duration life);

    /** The leader key alone deleted, as an eviction or a hand would. */
    void removeLeader();

    @Override
    void close();

    static ForeignRecords redis(String host, int port, String password, String namespace) {
        return new Redis(host, port, password, namespace);
    }

    static ForeignRecords etcd(String endpoint, String namespace) {
        return new Etcd(endpoint, namespace);
    }

    private static Map<String, String> registration(String id, String application, Duration life) {
        Map<String, String> fields = new LinkedHashMap<>(new InstanceInfo(id, "elsewhere", System.currentTimeMillis(),
                Map.of("application", application)).toFields());
        fields.put("ttl", Long.toString(life.toMillis()));
        return fields;
    }

    /** {@code RedisKeys}: every key under the hash tag {@code {namespace}:}. */
    final class Redis implements ForeignRecords {

        private final RedisClient client;

        private final StatefulRedisConnection<String, String> connection;

        private final RedisCommands<String, String> redis;

        private final String prefix;

        Redis(String host, int port, String password, String namespace) {
            RedisURI.Builder uri = RedisURI.builder().withHost(host).withPort(port).withTimeout(Duration.ofSeconds(2));
            if (password != null && !password.isEmpty()) {
                uri.withPassword(password.toCharArray());
            }
            this.client = RedisClient.create(uri.build());
            this.connection = this.client.connect();
            this.redis = this.connection.sync();
            this.prefix = "{" + namespace + "}:";
        }

        @Override
        public long term() {
            String value = this.redis.get(this.prefix + "term");
            return (value != null) ? Long.parseLong(value) : 0;
        }

        @Override
        public void lease(String holder, long token, Duration life) {
            // In one script, as a coordinator writes it: a script run between a DEL, an HSET and a
            // PEXPIRE would see a lease without expiry, which is garbage of another kind.
            this.redis.eval("redis.call('DEL', KEYS[1]) "
                    + "redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'token', ARGV[2], 'ttl', ARGV[3]) "
                    + "return redis.call('PEXPIRE', KEYS[1], ARGV[3])", ScriptOutputType.INTEGER,
                    new String[] { this.prefix + "leader" }, holder, Long.toString(token),
                    Long.toString(life.toMillis()));
        }

        @Override
        public void term(String value) {
            this.redis.set(this.prefix + "term", value);
        }

        @Override
        public void grant(String pool, String holder, int granted, Duration life) {
            // Into the hash of grants only: a tenant does not know the ledger's index and running sum.
            this.redis.hset(this.prefix + "cap:" + pool, holder,
                    granted + ":" + (System.currentTimeMillis() + life.toMillis()));
        }

        @Override
        public void member(String id, String application, Duration life) {
            List<String> fields = new ArrayList<>();
            registration(id, application, life).forEach((name, value) -> {
                fields.add(name);
                fields.add(value);
            });
            fields.add(Long.toString(life.toMillis()));
            fields.add(id);
            // One script, as a registration is written: hash, expiry and index entry together.
            this.redis.eval("local n = #ARGV "
                    + "redis.call('HSET', KEYS[1], unpack(ARGV, 1, n - 2)) "
                    + "redis.call('PEXPIRE', KEYS[1], ARGV[n - 1]) "
                    + "local t = redis.call('TIME') "
                    + "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
                    + "return redis.call('ZADD', KEYS[2], now + tonumber(ARGV[n - 1]), ARGV[n])",
                    ScriptOutputType.INTEGER, new String[] { this.prefix + "member:" + id, this.prefix + "members" },
                    fields.toArray(String[]::new));
        }

        @Override
        public void value(String key, String value, Duration life) {
            this.redis.psetex(this.prefix + "kv:" + key, life.toMillis(), value);
        }

        @Override
        public void removeLeader() {
            this.redis.del(this.prefix + "leader");
        }

        @Override
        public void close() {
            this.connection.close();
            this.client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
    }

    /** {@code EtcdKeys}: every key under {@code namespace/}; records on etcd leases of whole seconds. */
    final class Etcd implements ForeignRecords {

        private final Client client;

        private final String prefix;

        Etcd(String endpoint, String namespace) {
            this.client = Client.builder().endpoints(endpoint).build();
            this.prefix = namespace.replace("%", "%25").replace("/", "%2F") + "/";
        }

        @Override
        public long term() {
            var values = await(this.client.getKVClient().get(bytes(this.prefix + "term"))).getKvs();
            return values.isEmpty() ? 0 : Long.parseLong(values.get(0).getValue().toString(StandardCharsets.UTF_8));
        }

        @Override
        public void lease(String holder, long token, Duration life) {
            put("leader", json(Map.of("holder", holder, "token", Long.toString(token), "ttl",
                    Long.toString(life.toMillis()))), life);
        }

        @Override
        public void term(String value) {
            await(this.client.getKVClient().put(bytes(this.prefix + "term"), bytes(value)));
        }

        @Override
        public void grant(String pool, String holder, int granted, Duration life) {
            put("cap/" + pool + "/g/" + holder, granted + ":" + life.toMillis(), life);
        }

        @Override
        public void member(String id, String application, Duration life) {
            put("members/" + id, json(registration(id, application, life)), life);
        }

        @Override
        public void value(String key, String value, Duration life) {
            // Values carry the coordinator's 'v' tag before their bytes (EtcdCoordinator.set).
            put("kv/" + key.replace("%", "%25").replace("/", "%2F"), "v" + value, life);
        }

        @Override
        public void removeLeader() {
            await(this.client.getKVClient().delete(bytes(this.prefix + "leader")));
        }

        @Override
        public void close() {
            this.client.close();
        }

        private void put(String key, String value, Duration life) {
            long lease = await(this.client.getLeaseClient().grant(Math.max(1, (life.toMillis() + 999) / 1000))).getID();
            await(this.client.getKVClient().put(bytes(this.prefix + key), bytes(value),
                    PutOption.builder().withLeaseId(lease).build()));
        }

        /** A flat JSON object of plain ASCII strings, as the etcd coordinator writes its records. */
        private static String json(Map<String, String> fields) {
            StringBuilder out = new StringBuilder("{");
            fields.forEach((name, value) -> out.append((out.length() > 1) ? "," : "").append('"').append(name)
                .append("\":\"").append(value).append('"'));
            return out.append('}').toString();
        }

        private static ByteSequence bytes(String text) {
            return ByteSequence.from(text, StandardCharsets.UTF_8);
        }

        private static <T> T await(CompletableFuture<T> future) {
            try {
                return future.get(5, TimeUnit.SECONDS);
            }
            catch (Exception ex) {
                throw new IllegalStateException("etcd did not take a planted record: " + ex, ex);
            }
        }
    }
}
