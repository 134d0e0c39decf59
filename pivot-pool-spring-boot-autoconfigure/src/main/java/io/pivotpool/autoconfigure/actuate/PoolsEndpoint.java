package io.pivotpool.autoconfigure.actuate;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.distributed.CoordinationStatus;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.distributed.PoolCapacity;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolStats;
import io.pivotpool.pool.WaitTimeStats;

import org.jspecify.annotations.Nullable;
import org.springframework.boot.actuate.endpoint.OperationResponseBody;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;

/**
 * {@code /actuator/pools}: this instance, its coordinator and every pool's sizes, counters and
 * wait times; {@code /actuator/pools/{name}} one pool. Read-only. Nothing secret is reachable from
 * here: the coordinator is described by its backend's name and state, never by its connection.
 */
@Endpoint(id = "pools")
public class PoolsEndpoint {

    private final DistributedPoolManager manager;

    private final Supplier<? extends Iterable<? extends Pool<?>>> pools;

    /**
     * @param manager this instance's coordination
     * @param pools the pools to show, read on every request (pool beans are created after this)
     */
    public PoolsEndpoint(DistributedPoolManager manager, Supplier<? extends Iterable<? extends Pool<?>>> pools) {
        this.manager = manager;
        this.pools = pools;
    }

    @ReadOperation
    public PoolsDescriptor pools() {
        CoordinationStatus status = this.manager.status();
        Map<String, PoolDescriptor> pools = new TreeMap<>();
        for (Pool<?> pool : this.pools.get()) {
            pools.put(pool.name(), PoolDescriptor.of(pool.stats(), status.pools().get(pool.name())));
        }
        return new PoolsDescriptor(status.instanceId(), CoordinatorDescriptor.of(status), pools);
    }

    /** One pool, or {@code null} (404) when no pool has that name. */
    @ReadOperation
    public @Nullable PoolDescriptor pool(@Selector String name) {
        for (Pool<?> pool : this.pools.get()) {
            if (pool.name().equals(name)) {
                return PoolDescriptor.of(pool.stats(), this.manager.status().pools().get(name));
            }
        }
        return null;
    }

    /**
     * Everything the endpoint shows.
     *
     * @param instance this instance's id
     * @param coordinator the coordination seen from this instance
     * @param pools every pool by name
     */
    public record PoolsDescriptor(String instance, CoordinatorDescriptor coordinator,
            Map<String, PoolDescriptor> pools) implements OperationResponseBody {
    }

    /**
     * The coordination as this instance last saw it.
     *
     * @param requestedBackend the backend asked for by {@code distributed.coordination}
     * @param activeBackend the backend in use ({@code noop} after a fallback)
     * @param connected whether the last synchronisation reached the backend
     * @param fallbackReason why the requested backend is not in use, or {@code null}
     * @param leaderId the leading instance's id, or {@code null} if none
     * @param isLeader whether this instance leads
     * @param fencingToken the current leadership term, 0 if nobody leads
     * @param members the live instances as listed by the leader: on the leader only (a follower
     *     never lists them, so that its status costs the backend nothing that grows with the cluster)
     * @param memberCount how many instances are live
     * @param lastSync when a synchronisation last succeeded, or {@code null}
     * @param lastError why the last synchronisation failed, or {@code null}
     * @param rebalances rounds in which this instance, as leader, shared the pools' caps anew
     * @param foreignApplications other applications whose instances share this namespace (and so
     *     the caps of pools of the same names), as the leader last listed them; {@code null} (left
     *     out) when there are none
     */
    public record CoordinatorDescriptor(String requestedBackend, String activeBackend, boolean connected,
            @Nullable String fallbackReason, @Nullable String leaderId, boolean isLeader, long fencingToken,
            List<MemberDescriptor> members, int memberCount, @Nullable Instant lastSync, @Nullable String lastError,
            long rebalances, @Nullable List<String> foreignApplications) {

        static CoordinatorDescriptor of(CoordinationStatus status) {
            return new CoordinatorDescriptor(status.requestedBackend(), status.activeBackend(), status.connected(),
                    status.fallbackReason(), status.leaderId(), status.isLeader(), status.fencingToken(),
                    status.members().stream().map(MemberDescriptor::of).toList(), status.memberCount(), status.lastSync(),
                    status.lastError(), status.rebalances(),
                    status.foreignApplications().isEmpty() ? null : status.foreignApplications());
        }
    }

    /**
     * One live instance.
     *
     * @param id its id
     * @param host where it runs
     * @param startedAt when it started
     * @param metadata its attributes (application name, profile)
     */
    public record MemberDescriptor(String id, String host, Instant startedAt, Map<String, String> metadata) {

        static MemberDescriptor of(InstanceInfo instance) {
            return new MemberDescriptor(instance.id(), instance.host(),
                    Instant.ofEpochMilli(instance.startedAtMillis()), new TreeMap<>(instance.metadata()));
        }
    }

    /**
     * One pool.
     *
     * @param size live pooled objects (idle and active)
     * @param idle objects ready to be borrowed
     * @param active objects borrowed now
     * @param waiting borrowers waiting for an object
     * @param maxSize this instance's size limit (its share of the cluster-wide cap, when capped)
     * @param capacity the pool's share of its cluster-wide cap, or {@code null} when it has none
     * @param created objects created since start
     * @param destroyed objects destroyed since start
     * @param borrows successful borrows
     * @param timeouts borrows that gave up
     * @param overflow objects created beyond max-size by the overflow strategy
     * @param creationFailures factory calls that threw
     * @param leaks leases held past the leak detection threshold
     * @param waitTime how long borrows waited
     */
    public record PoolDescriptor(int size, int idle, int active, int waiting, int maxSize,
            @Nullable CapacityDescriptor capacity, long created, long destroyed, long borrows, long timeouts, long overflow,
            long creationFailures, long leaks, WaitTimeDescriptor waitTime) implements OperationResponseBody {

        static PoolDescriptor of(PoolStats stats, @Nullable PoolCapacity capacity) {
            return new PoolDescriptor(stats.size(), stats.idle(), stats.active(), stats.waiting(), stats.maxSize(),
                    (capacity != null) ? CapacityDescriptor.of(capacity) : null, stats.created(), stats.destroyed(),
                    stats.borrows(), stats.timeouts(), stats.overflowCreated(), stats.creationFailures(),
                    stats.leaks(), WaitTimeDescriptor.of(stats.waitTime()));
        }
    }

    /**
     * A pool's share of its cluster-wide cap on this instance.
     *
     * @param globalMaxSize the cap for all instances together
     * @param partitionSize the most this instance keeps while it cannot renew its grant
     * @param grant what the coordinator granted this instance
     * @param target what the leader last asked this instance to hold, or -1 before any target
     * @param demand objects used or waited for at the recent peak, as reported to the leader
     * @param limit the pool's size limit now (the grant; lower while shrinking or partitioned)
     * @param partitioned whether this instance runs on its partition size
     * @param distribution on the leader, the targets of every instance by id; null elsewhere (left
     * out of the JSON, as every field without a value)
     */
    public record CapacityDescriptor(int globalMaxSize, int partitionSize, int grant, int target, int demand,
            int limit, boolean partitioned, @Nullable Map<String, Integer> distribution) {

        static CapacityDescriptor of(PoolCapacity capacity) {
            Map<String, Integer> distribution = capacity.distribution();
            return new CapacityDescriptor(capacity.globalMaxSize(), capacity.partitionSize(), capacity.grant(),
                    capacity.target(), capacity.demand(), capacity.limit(), capacity.partitioned(),
                    distribution.isEmpty() ? null : distribution);
        }
    }

    /**
     * How long borrows waited since the pool started, in milliseconds; percentiles are within 3.2%
     * of the true value and never above the max.
     *
     * @param borrows borrows measured (served or timed out): the percentiles are over all of them,
     * those served at once counting as waits of zero
     * @param count borrows that found no free object and waited, served or timed out: what the
     * {@code pivot.pool.wait} timer counts ({@code pivot_pool_wait_seconds_count} in Prometheus)
     * @param maxMs the longest wait
     * @param p50Ms the median wait
     * @param p95Ms the 95th percentile
     * @param p99Ms the 99th percentile
     */
    public record WaitTimeDescriptor(long borrows, long count, double maxMs, double p50Ms, double p95Ms,
            double p99Ms) {

        static WaitTimeDescriptor of(WaitTimeStats stats) {
            return new WaitTimeDescriptor(stats.borrows(), stats.count(), millis(stats.maxNanos()),
                    millis(stats.p50Nanos()), millis(stats.p95Nanos()), millis(stats.p99Nanos()));
        }

        private static double millis(long nanos) {
            return nanos / 1_000_000.0;
        }
    }
}
