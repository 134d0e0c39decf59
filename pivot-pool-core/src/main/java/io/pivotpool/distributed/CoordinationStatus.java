package io.pivotpool.distributed;

import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;

import org.jspecify.annotations.Nullable;

import io.pivotpool.coordinator.InstanceInfo;

/**
 * A snapshot of this instance's coordination, for the actuator endpoint, health and metrics.
 *
 * @param instanceId this instance
 * @param requestedBackend the backend asked for ({@code none} when coordination is disabled)
 * @param activeBackend the backend in use ({@code noop} after a fallback)
 * @param connected whether the last synchronisation reached the backend and is recent (within
 *     instance-ttl): a stuck background thread does not leave the status claiming health
 * @param fallbackReason why the requested backend is not in use, or {@code null}
 * @param leaderId the leading instance as last seen, or {@code null} if none
 * @param isLeader whether this instance leads now (false once its lease may have run out)
 * @param fencingToken the current term's fencing token as last seen, or 0 if nobody leads
 * @param members the live instances as the leader last listed them, ordered by id; empty on a
 *     follower, which never lists them (so that a follower's cost per round, and per status read,
 *     does not grow with the cluster)
 * @param memberCount how many instances are live: on the leader the size of {@code members}, on a
 *     follower the count taken in the round after its status was last read
 * @param lastSync when a synchronisation last succeeded, or {@code null} if none has yet
 * @param lastError why the last synchronisation failed, or {@code null} if it succeeded
 * @param pools every pool with a cluster-wide cap: its share on this instance, by pool name (sorted)
 * @param rebalances rounds in which this instance, as leader, computed new targets
 * @param foreignApplications the other applications whose instances share this namespace, by the
 *     {@code application} of their metadata ({@code spring.application.name}; {@value #UNNAMED} for
 *     none), sorted, as the leader last listed the members: their pools of the same names share one
 *     cap with this application's. Empty on a follower, and when every member is of this application
 */
public record CoordinationStatus(String instanceId, String requestedBackend, String activeBackend, boolean connected,
        @Nullable String fallbackReason, @Nullable String leaderId, boolean isLeader, long fencingToken,
        List<InstanceInfo> members, int memberCount, @Nullable Instant lastSync, @Nullable String lastError,
        Map<String, PoolCapacity> pools, long rebalances, List<String> foreignApplications) {

    /** How {@link #foreignApplications} names an application that gave no name. */
    public static final String UNNAMED = "(unnamed)";

    public CoordinationStatus {
        Objects.requireNonNull(instanceId, "instanceId must not be null");
        members = List.copyOf(members);
        pools = Collections.unmodifiableMap(new TreeMap<>(pools));
        foreignApplications = List.copyOf(foreignApplications);
    }

    /** A status without foreign applications (as before they were reported). */
    public CoordinationStatus(String instanceId, String requestedBackend, String activeBackend, boolean connected,
            @Nullable String fallbackReason, @Nullable String leaderId, boolean isLeader, long fencingToken,
            List<InstanceInfo> members, int memberCount, @Nullable Instant lastSync, @Nullable String lastError,
            Map<String, PoolCapacity> pools, long rebalances) {
        this(instanceId, requestedBackend, activeBackend, connected, fallbackReason, leaderId, isLeader, fencingToken,
                members, memberCount, lastSync, lastError, pools, rebalances, List.of());
    }

    /**
     * The applications other than {@code self}'s among {@code members}, by the {@code application}
     * of their metadata, sorted and without repeats.
     */
    static List<String> foreignApplications(InstanceInfo self, List<InstanceInfo> members) {
        String own = self.metadata().get("application");
        TreeSet<String> foreign = new TreeSet<>();
        for (InstanceInfo member : members) {
            String application = member.metadata().get("application");
            if (!Objects.equals(application, own)) {
                foreign.add((application != null) ? application : UNNAMED);
            }
        }
        return List.copyOf(foreign);
    }
}
