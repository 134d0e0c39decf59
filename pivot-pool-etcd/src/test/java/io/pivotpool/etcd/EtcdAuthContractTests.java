package io.pivotpool.etcd;

import java.time.Duration;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.testsupport.contract.MultiInstanceCoordinatorContract;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The coordinator contract on an etcd with authentication enabled, every coordinator logged in as
 * a user whose role may read and write only the prefixes of the namespaces the test uses: the
 * README's restricted user is enough for everything the coordinator does.
 */
class EtcdAuthContractTests extends MultiInstanceCoordinatorContract {

    @RegisterExtension
    static final EtcdAuth auth = new EtcdAuth();

    /** A release leaves the pool's sum as it was until a reconcile, which a short request starts within a second. */
    @Override
    protected Duration releaseTolerance() {
        return Duration.ofSeconds(2);
    }

    @Override
    protected Coordinator createCoordinator(String namespace) {
        auth.allow(auth.user(), namespace);
        RawEtcd.establish(auth.root(), namespace);
        return EtcdCoordinator.create(auth.settings(auth.user(), namespace).build());
    }
}
