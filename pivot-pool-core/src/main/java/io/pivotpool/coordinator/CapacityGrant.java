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
 */
public record CapacityGrant(String pool, String instanceId, int granted, int totalGranted, int globalMaxSize) {
}
