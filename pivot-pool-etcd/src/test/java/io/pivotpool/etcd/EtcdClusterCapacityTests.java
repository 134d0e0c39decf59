package io.pivotpool.etcd;

import java.time.Duration;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.testsupport.contract.ClusterCapacityContract;
import io.pivotpool.testsupport.etcd.EtcdServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/**
 * The cluster-wide cap on a real etcd: several managers, each with a client of its own, share a
 * pool's cap through version-guarded grant transactions, the leader's targets and the demand
 * reports, with every object of the cluster counted at every creation.
 */
@Tag("slow")
class EtcdClusterCapacityTests extends ClusterCapacityContract {

    private static EtcdServer server;

    @BeforeAll
    static void startServer() {
        server = EtcdServer.start();
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    @Override
    protected Coordinator client(String namespace) {
        EtcdCoordinator coordinator = EtcdCoordinator.create(EtcdCoordinatorSettings.builder()
            .endpoints(server.endpoints())
            .namespace(namespace)
            // The first connection of a fresh JVM loads gRPC and Netty: more than 500 ms on a busy machine.
            .timeout(Duration.ofSeconds(2))
            .build());
        coordinator.connect();
        return coordinator;
    }
}
