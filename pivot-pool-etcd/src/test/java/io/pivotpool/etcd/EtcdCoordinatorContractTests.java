package io.pivotpool.etcd;

import java.time.Duration;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.testsupport.contract.MultiInstanceCoordinatorContract;
import io.pivotpool.testsupport.etcd.EtcdServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The coordinator contract, single- and multi-instance, against a real etcd. */
class EtcdCoordinatorContractTests extends MultiInstanceCoordinatorContract {

    private static EtcdServer server;

    private static RawEtcd raw;

    @BeforeAll
    static void startServer() {
        server = EtcdServer.start();
        raw = new RawEtcd(server);
    }

    @AfterAll
    static void stopServer() {
        if (raw != null) {
            raw.close();
        }
        if (server != null) {
            server.close();
        }
    }

    /** A release leaves the pool's sum as it was until a reconcile, which a short request starts within a second. */
    @Override
    protected Duration releaseTolerance() {
        return Duration.ofSeconds(2);
    }

    @Override
    protected Coordinator createCoordinator(String namespace) {
        raw.establish(namespace);
        // Each coordinator has a client of its own, as separate application instances do.
        return EtcdCoordinator.create(EtcdCoordinatorSettings.builder()
            .endpoints(server.endpoints())
            .namespace(namespace)
            .timeout(Duration.ofSeconds(2))
            .build());
    }
}
