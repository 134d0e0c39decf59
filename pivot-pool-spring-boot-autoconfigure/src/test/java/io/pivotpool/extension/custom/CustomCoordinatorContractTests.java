package io.pivotpool.extension.custom;

import java.time.Duration;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.testsupport.contract.CoordinatorContract;

/**
 * The extension author's own check (part of step 1): the custom coordinator keeps the contract
 * every backend keeps, through the suite that {@code pivot-pool-core}'s test-jar publishes.
 */
class CustomCoordinatorContractTests extends CoordinatorContract {

    /** Entries expire to the millisecond here: half a second proves expiry as well as a second. */
    @Override
    protected Duration shortTtl() {
        return Duration.ofMillis(500);
    }

    @Override
    protected Coordinator createCoordinator(String namespace) {
        return new CustomCoordinator(namespace, false);
    }
}
