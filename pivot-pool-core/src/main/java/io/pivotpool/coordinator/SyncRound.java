package io.pivotpool.coordinator;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import io.pivotpool.coordinator.support.CoordinatorArguments;

import org.jspecify.annotations.Nullable;

/**
 * What an instance asks of the backend in one synchronisation round (a follower's whole round; a
 * leader's heartbeat, lease and own grants), so that a backend can do it in one call
 * ({@link Coordinator#round}): in a fleet of a thousand instances, the backend's cost of
 * coordination is mostly the cost of round trips, not of the work inside them.
 *
 * <p>The steps, in this order: renew {@code instance}'s registration for {@code instanceTtl} (as
 * {@link Coordinator#heartbeat}); seek leadership for {@code leaderTtl} (as
 * {@link Coordinator#seekLeadership}), or only read the current leader when it is null; count the
 * live instances when {@code countMembers}; store {@code writes} for {@code writeTtl} (as
 * {@link Coordinator#setAll}), or, when {@code writeTtl} is at least {@code instanceTtl}, for as
 * long as the registration renewed by this round lives (a backend may tie them to it, so that
 * keeping them costs nothing more than the heartbeats: they then vanish with the registration,
 * possibly before {@code writeTtl}); request every {@code capacity} grant in turn (as
 * {@link Coordinator#requestCapacity}); read {@code reads} (as {@link Coordinator#getAll}).
 *
 * @param instance the instance whose round this is
 * @param instanceTtl how long its registration lives
 * @param leaderTtl the lease to seek, or null to only read the current leader
 * @param countMembers whether to count the live instances
 * @param writes the values to store; empty for none
 * @param writeTtl how long the written values live; null only when there are none
 * @param capacity the grants to request, in order
 * @param reads the keys to read
 */
public record SyncRound(InstanceInfo instance, Duration instanceTtl, @Nullable Duration leaderTtl,
        boolean countMembers, Map<String, byte[]> writes, @Nullable Duration writeTtl,
        List<CapacityRequest> capacity, List<String> reads) {

    public SyncRound {
        Objects.requireNonNull(instance, "instance must not be null");
        CoordinatorArguments.requirePositiveTtl(instanceTtl);
        if (leaderTtl != null) {
            CoordinatorArguments.requirePositiveTtl(leaderTtl);
        }
        writes = CoordinatorArguments.copyInOrder(writes);
        if (!writes.isEmpty()) {
            CoordinatorArguments.requirePositiveTtl(writeTtl);
        }
        capacity = List.copyOf(capacity);
        reads = List.copyOf(reads);
    }

    /**
     * One grant asked for in a round, with the arguments of {@link Coordinator#requestCapacity}
     * (the instance is the round's).
     *
     * @param growthMayWait whether the leader is about to raise this grant
     * ({@link Coordinator#growGrants}): a backend whose requests race each other for growth may
     * then keep the grant as recorded instead of racing to grow it (etcd does); a grant above the
     * request is still lowered. A backend without such races ignores it.
     */
    public record CapacityRequest(String pool, int requested, int globalMaxSize, Duration ttl, boolean growthMayWait) {

        public CapacityRequest {
            Objects.requireNonNull(pool, "pool must not be null");
            CoordinatorArguments.requirePositiveTtl(ttl);
        }

        /** A request whose growth does not wait for the leader. */
        public CapacityRequest(String pool, int requested, int globalMaxSize, Duration ttl) {
            this(pool, requested, globalMaxSize, ttl, false);
        }
    }

    /**
     * What the round found.
     *
     * @param leader the current lease, the round's instance's if it leads now, another's, or empty
     *     if nobody leads
     * @param memberCount the live instances, or -1 when they were not counted
     * @param grants the grants as recorded, in the order requested
     * @param values the values read, as {@link Coordinator#getAll} returns them
     */
    public record Reply(Optional<LeaderLease> leader, int memberCount, List<CapacityGrant> grants,
            Map<String, byte[]> values) {

        public Reply {
            Objects.requireNonNull(leader, "leader must not be null");
            grants = List.copyOf(grants);
            values = CoordinatorArguments.copyInOrder(values);
        }
    }
}
