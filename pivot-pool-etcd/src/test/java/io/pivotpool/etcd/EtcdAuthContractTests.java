package io.pivotpool.etcd;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.MultiInstanceCoordinatorContract;
import io.pivotpool.testsupport.etcd.EtcdServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The coordinator contract on an etcd with authentication enabled, every coordinator logged in as
 * a user whose role may read and write only the prefixes of the namespaces the test uses: the
 * README's restricted user is enough for everything the coordinator does.
 */
class EtcdAuthContractTests extends MultiInstanceCoordinatorContract {

    private static EtcdServer server;

    private static EtcdAuth auth;

    private static EtcdAuth.User user;

    @BeforeAll
    static void enableAuthentication() {
        server = EtcdServer.start();
        auth = EtcdAuth.enable(server);
        user = auth.user("pivot");
    }

    @AfterAll
    static void stopServer() {
        if (auth != null) {
            auth.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Override
    protected Coordinator createCoordinator(String namespace) {
        auth.allow(user, namespace);
        RawEtcd.establish(auth.root(), namespace);
        return EtcdCoordinator.create(auth.settings(user, namespace).build());
    }
}
