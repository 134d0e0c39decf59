package io.pivotpool.coordinator;

/**
 * One instance's share of a pool's cluster-wide capacity.
 *
 * @param pool the pool's name
 * @param instanceId the holder
 * @param granted objects this instance may keep; the grants of live holders never sum above
 *     {@code globalMaxSize}
 * @param totalGranted the sum of all live grants of this pool, this one included
 * @param globalMaxSize the cluster-wide cap the grant was computed against
 * @param renewed whether the backend still held this instance's previous grant when the request
 *     arrived: false for a first request, after the grant expired, and after the backend lost its
 *     data. The manager then renews before it grows for one instance-ttl, so that it is never
 *     granted a share that another instance, whose grant the backend forgot, still uses.
 */
public record CapacityGrant(String pool, String instanceId, int granted, int totalGranted, int globalMaxSize,
        boolean renewed) {

    /**
     * A grant from a backend that cannot tell whether it still held the previous grant: taken as
     * renewed, which gives up the protection described at {@code renewed}.
     */
    public CapacityGrant(String pool, String instanceId, int granted, int totalGranted, int globalMaxSize) {
        this(pool, instanceId, granted, totalGranted, globalMaxSize, true);
    }
}
