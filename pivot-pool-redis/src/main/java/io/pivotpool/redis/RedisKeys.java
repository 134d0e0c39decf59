package io.pivotpool.redis;

/**
 * The names of every key a {@link RedisCoordinator} touches, all under one namespace.
 *
 * <p>The namespace is wrapped in braces, {@code {pivot:pools}:leader}, which makes it a Redis
 * Cluster hash tag: all keys of one namespace hash to one slot, so a script may touch several of
 * them. Caller-supplied names (queues, state keys, pools, instance ids) come after a fixed
 * per-concern prefix, so no name can reach outside the namespace or into another concern.
 */
final class RedisKeys {

    private final String prefix;

    RedisKeys(String namespace) {
        validateNamespace(namespace);
        this.prefix = "{" + namespace + "}:";
    }

    static void validateNamespace(String namespace) {
        if (namespace == null || namespace.isBlank()) {
            throw new IllegalArgumentException("namespace must not be empty");
        }
        if (namespace.indexOf('{') >= 0 || namespace.indexOf('}') >= 0) {
            throw new IllegalArgumentException(
                    "namespace must not contain '{' or '}' (it becomes a Redis hash tag), was '" + namespace + "'");
        }
    }

    /** Sorted set: instance id scored by the server time (ms) its registration expires at. */
    String members() {
        return this.prefix + "members";
    }

    /**
     * String: the membership's version, changed whenever an instance joins, leaves or changes its
     * fields, so that the leader lists the members only when something changed.
     */
    String membersVersion() {
        return this.prefix + "members-version";
    }

    /** Hash: one instance's {@code InstanceInfo.toFields()}, expiring with its registration. */
    String member(String instanceId) {
        return memberPrefix() + instanceId;
    }

    String memberPrefix() {
        return this.prefix + "member:";
    }

    /** Hash {@code holder, token, ttl}, expiring with the term unless renewed. */
    String leader() {
        return this.prefix + "leader";
    }

    /**
     * String, without expiry: the server time (ms) until which the last lease written may run, so
     * that a leader key gone early (evicted, deleted) does not let a term begin while its holder
     * may still trust it.
     */
    String leaderUntil() {
        return this.prefix + "leader-until";
    }

    /** String: the last fencing token granted. */
    String term() {
        return this.prefix + "term";
    }

    /** List: LPUSH in, RPOP out. */
    String queue(String name) {
        return this.prefix + "q:" + name;
    }

    /** String: one shared-state value. */
    String state(String key) {
        return this.prefix + "kv:" + key;
    }

    /** Hash: instance id to {@code granted:expiresAtMillis}. */
    String capacity(String pool) {
        return this.prefix + "cap:" + pool;
    }

    /** Sorted set: the holders of {@link #capacity(String)} scored by when their grant expires. */
    String capacityIndex(String pool) {
        return this.prefix + "capx:" + pool;
    }

    /** String: the sum of the grants in {@link #capacity(String)}, kept in step by every capacity script. */
    String capacityTotal(String pool) {
        return this.prefix + "capsum:" + pool;
    }

    /** The three keys of a pool's grant ledger, in the order the capacity scripts take them. */
    java.util.List<String> capacityLedger(String pool) {
        return java.util.List.of(capacity(pool), capacityIndex(pool), capacityTotal(pool));
    }

    @Override
    public String toString() {
        return this.prefix;
    }
}
