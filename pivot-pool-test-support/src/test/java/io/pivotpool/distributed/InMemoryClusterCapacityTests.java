package io.pivotpool.distributed;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.NoOpCoordinator;
import io.pivotpool.testsupport.contract.ClusterCapacityContract;
import io.pivotpool.testsupport.contract.ForwardingCoordinator;

/**
 * The cluster-wide cap on one in-memory {@link NoOpCoordinator} shared by every instance of a
 * test, the way a server is shared: proves the managers' rules without a network. The Redis
 * module runs the same contract against a real redis-server.
 */
class InMemoryClusterCapacityTests extends ClusterCapacityContract {

    private final NoOpCoordinator server = new NoOpCoordinator();

    @Override
    protected Coordinator client(String namespace) {
        this.server.connect();
        return new ForwardingCoordinator(this.server) {
            /** A shared server, unlike the no-op coordinator of a single instance. */
            @Override
            public String name() {
                return "shared-in-memory";
            }

            @Override
            public void close() {
                // a client's close leaves the shared server alone
            }
        };
    }
}
