package io.pivotpool.coordinator.support;

/**
 * What a member of the cluster could have written: the rule every backend applies to the records it
 * reads, beyond their format. A record can be well formed and still not one that a member running
 * the same configuration writes: a lease lasting a day, a term counter at the top of the 64-bit
 * range, a lease whose token no term was given, a grant held by an instance that is not a member.
 * Believed, such a record stops elections or holds capacity for as long as it claims; so it is
 * garbage, handled like a malformed one (dropped, or fenced for one leader-ttl where an earlier term
 * might still be trusted) and reported in one rate-limited warning that names the key and the rule.
 *
 * <p>The rules, for leases (leadership), registrations (membership), capacity grants and the term
 * counter:
 * <ol>
 * <li><b>Lifetimes.</b> A record lasts at most {@link #TTL_FACTOR} times the TTL the reader itself
 * uses for records of its kind ({@code leader-ttl} for a lease, {@code instance-ttl} for a
 * registration or a grant), and never more than {@link #MAX_TTL_MILLIS}. Members of one namespace
 * must therefore run TTLs within a factor of {@link #TTL_FACTOR} of each other: a rolling change of
 * {@code sync-interval}, {@code instance-ttl} or {@code leader-ttl} by more than that goes through a
 * new namespace, or the new members drop the old members' grants and leases as garbage: the cap
 * may then be exceeded and two instances lead at once until the old members are gone.</li>
 * <li><b>Tokens.</b> A lease's fencing token is never above the term counter, and the counter is
 * never above what the token scheme produces: on Redis the server clock in microseconds plus
 * {@link #MAX_TERM_LEAD_MICROS} (a token is {@code max(last + 1, clock)}), on etcd the store's
 * revision (a token is {@code max(last + 1, revision + 1)}, written in that revision). A counter
 * beyond it is fenced for one leader-ttl and reset, so that it can never be exhausted; tokens then
 * continue from the reset value, below the implausible one.</li>
 * <li><b>Holders.</b> A grant held by an instance that has not been a member for longer than
 * 1.5 instance-ttl + sync-interval is given back by the leader, if the backend finds the holder
 * unregistered in the same atomic step ({@code NonMemberGrants} in the manager says why no member
 * can still trust it). A lease held by a non-member is not fenced early: a fence must last as long
 * as the lease may still be trusted (a paused leader's registration lapses before its lease), which
 * is what waiting for it does; the lifetimes above bound it.</li>
 * <li><b>Sizes.</b> A registration holds at most {@link CoordinatorArguments#MAX_INSTANCE_FIELDS}
 * fields of {@link CoordinatorArguments#MAX_INSTANCE_BYTES} bytes; reads and listings are bounded in
 * bytes as well as in count.</li>
 * </ol>
 * A follower believes a target only from the term it read as current in the same round, so that a
 * forged token steers nothing for longer than the forged lease lasts.
 */
public final class Plausibility {

    /** How many times a reader's own TTL a record of the same kind may last. */
    public static final int TTL_FACTOR = 4;

    /** The longest lifetime of any record, whatever the TTLs: one day. */
    public static final long MAX_TTL_MILLIS = 86_400_000L;

    /** How far ahead of the Redis server's clock (in microseconds) a term counter may run: one day. */
    public static final long MAX_TERM_LEAD_MICROS = 86_400_000_000L;

    private Plausibility() {
    }

    /**
     * The longest lifetime a member could have given a record of the kind that this reader writes
     * with {@code ownTtlMillis}: {@link #TTL_FACTOR} times it, at most {@link #MAX_TTL_MILLIS}; the
     * maximum when the reader's own TTL is not known yet ({@code ownTtlMillis <= 0}).
     */
    public static long longestTtlMillis(long ownTtlMillis) {
        if (ownTtlMillis <= 0 || ownTtlMillis >= MAX_TTL_MILLIS / TTL_FACTOR) {
            return MAX_TTL_MILLIS;
        }
        return ownTtlMillis * TTL_FACTOR;
    }
}
