package io.pivotpool.autoconfigure.health;

import java.util.List;
import java.util.Map;

import io.pivotpool.distributed.CoordinationStatus;
import io.pivotpool.distributed.DistributedPoolManager;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * The coordinator's health. A fallback to the no-op coordinator is UP, because the application
 * runs (alone), with the requested backend and the reason as details, so that the degradation is
 * visible; a backend that stopped answering is DOWN. Reads the manager's last synchronisation and
 * never calls the backend itself, so that a health probe cannot hang on a lost server.
 */
public class CoordinatorHealthIndicator extends AbstractHealthIndicator {

    private final DistributedPoolManager manager;

    public CoordinatorHealthIndicator(DistributedPoolManager manager) {
        super("Coordinator health check failed");
        this.manager = manager;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        CoordinationStatus status = this.manager.status();
        builder.withDetail("instance", status.instanceId())
            .withDetail("requestedBackend", status.requestedBackend())
            .withDetail("backend", status.activeBackend())
            .withDetail("members", status.members().size());
        if (status.leaderId() != null) {
            builder.withDetail("leader", status.leaderId());
        }
        List<String> partitioned = status.pools().entrySet().stream()
            .filter((pool) -> pool.getValue().partitioned())
            .map(Map.Entry::getKey)
            .toList();
        if (!partitioned.isEmpty()) {
            // Borrowers are served within each pool's partition size; the cap is not shared meanwhile.
            builder.withDetail("partitionedPools", partitioned);
        }
        if (status.fallbackReason() != null) {
            builder.up().withDetail("fallback", status.fallbackReason());
            return;
        }
        if (status.lastSync() == null && status.lastError() == null) {
            // Not started yet: nothing has been tried, so nothing has failed.
            builder.unknown();
            return;
        }
        if (!status.connected()) {
            builder.down().withDetail("error", status.lastError());
            return;
        }
        builder.up();
    }
}
