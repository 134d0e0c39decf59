package io.pivotpool.etcd;

import java.util.Objects;

import io.pivotpool.coordinator.CoordinatorProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes etcd selectable as {@code distributed.coordination: etcd}: creates an
 * {@link EtcdCoordinator} with a client of its own under the namespace the selection hands over.
 */
public final class EtcdCoordinatorProvider implements CoordinatorProvider {

    private static final Logger logger = LoggerFactory.getLogger(EtcdCoordinatorProvider.class);

    private final EtcdCoordinatorSettings settings;

    private EtcdCoordinatorProvider(EtcdCoordinatorSettings settings) {
        this.settings = settings;
    }

    /** Coordinators for the cluster the settings name; the settings' namespace is replaced by the selection's. */
    public static EtcdCoordinatorProvider of(EtcdCoordinatorSettings settings) {
        return new EtcdCoordinatorProvider(Objects.requireNonNull(settings, "settings must not be null"));
    }

    @Override
    public String name() {
        return EtcdCoordinator.NAME;
    }

    @Override
    public EtcdCoordinator create(String namespace) {
        // One line at start-up, as the Redis coordinator writes: where coordination goes, never a password.
        logger.info("etcd coordinator connects to {}{}, namespace '{}'", String.join(", ", this.settings.endpoints()),
                this.settings.tls() ? " (TLS)" : "", namespace);
        return EtcdCoordinator.create(this.settings.toBuilder().namespace(namespace).build());
    }

    /** Names the endpoints and the user, never the password. */
    @Override
    public String toString() {
        return "EtcdCoordinatorProvider[" + this.settings + "]";
    }
}
