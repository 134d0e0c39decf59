package io.pivotpool.etcd;

import java.nio.charset.StandardCharsets;

import io.etcd.jetcd.ByteSequence;

/**
 * The etcd keys of one namespace. Every name (the namespace itself, queue and state keys, pool
 * names, instance ids) is one path segment with {@code %} and {@code /} escaped as {@code %25} and
 * {@code %2F}, so that no name can reach into another's range: namespace {@code a} never sees the
 * keys of namespace {@code a/kv}, and pool {@code p} never lists the grants of pool {@code p/x}.
 *
 * <pre>
 * NS/leader              the leader lease: {"holder","token","ttl"}, on an etcd lease
 * NS/term                the last fencing token, a plain decimal
 * NS/members/ID          an instance: InstanceInfo fields plus "ttl", on an etcd lease
 * NS/q/QUEUE/UNIQUE      one message, 'm' + its bytes; FIFO by create revision
 * NS/kv/KEY              one value, 'v' + its bytes; on an etcd lease when it has a TTL
 * NS/cap/POOL/v          the pool's version: every grant bumps it, so grants are compared-and-set
 * NS/cap/POOL/g/HOLDER   one grant, "granted:ttlMillis", on an etcd lease
 * </pre>
 */
final class EtcdKeys {

    private final String namespace;

    private final String prefix;

    EtcdKeys(String namespace) {
        if (namespace == null || namespace.isEmpty()) {
            throw new IllegalArgumentException("namespace must not be empty");
        }
        this.namespace = namespace;
        this.prefix = segment(namespace) + "/";
    }

    /** Escapes one name so that it is exactly one path segment. */
    static String segment(String name) {
        return name.replace("%", "%25").replace("/", "%2F");
    }

    /** Reverses {@link #segment(String)}. */
    static String unsegment(String segment) {
        return segment.replace("%2F", "/").replace("%2f", "/").replace("%25", "%");
    }

    String namespace() {
        return this.namespace;
    }

    /** Everything of this namespace: {@code NS/}. */
    String all() {
        return this.prefix;
    }

    String leader() {
        return this.prefix + "leader";
    }

    String term() {
        return this.prefix + "term";
    }

    /**
     * The id of the etcd lease the last term began on (without a lease of its own), so that a
     * leader key gone early (deleted) lets no term begin while that lease still runs.
     */
    String leaderLease() {
        return this.prefix + "leader-lease";
    }

    String members() {
        return this.prefix + "members/";
    }

    String member(String id) {
        return members() + segment(id);
    }

    String queue(String queue) {
        return this.prefix + "q/" + segment(queue) + "/";
    }

    String state(String key) {
        return this.prefix + "kv/" + segment(key);
    }

    String pool(String pool) {
        return this.prefix + "cap/" + segment(pool) + "/";
    }

    String poolVersion(String pool) {
        return pool(pool) + "v";
    }

    String grants(String pool) {
        return pool(pool) + "g/";
    }

    String grant(String pool, String holder) {
        return grants(pool) + segment(holder);
    }

    static ByteSequence bytes(String key) {
        return ByteSequence.from(key, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return this.prefix;
    }
}
