package io.pivotpool.coordinator;

import java.util.Map;

import io.pivotpool.coordinator.support.CoordinatorArguments;

/**
 * The live capacity grants of one pool.
 *
 * @param pool the pool's name
 * @param grants granted objects by instance id
 * @param total their sum
 */
public record CapacityView(String pool, Map<String, Integer> grants, int total) {

    public CapacityView {
        grants = CoordinatorArguments.copyInOrder(grants);
    }
}
