package io.pivotpool.autoconfigure.health;

import java.util.List;
import java.util.Map;
import java.util.Objects;

import io.pivotpool.distributed.CoordinationStatus;
import io.pivotpool.distributed.DistributedPoolManager;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * The coordinator's health. The application keeps serving borrowers whatever happens to the
 * coordination backend, so by default nothing here turns the health DOWN: a fallback to the no-op
 * coordinator and a backend that stopped answering are both UP, with the requested backend, the
 * reason or error and any partitioned pools as details, so that the degradation is visible without
 * taking every instance out of a load balancer at once. With {@code downWhenDisconnected} a backend
 * that stopped answering is DOWN, for deployments that would rather drain such an instance. Reads the
 * manager's last synchronisation and never calls the backend itself, so that a health probe cannot
 * hang on a lost server.
 */
public class CoordinatorHealthIndicator extends AbstractHealthIndicator {

    private final DistributedPoolManager manager;

    private final boolean downWhenDisconnected;

    /** Reports a lost backend as UP with the error as a detail. */
    public CoordinatorHealthIndicator(DistributedPoolManager manager) {
        this(manager, false);
    }

    /** @param downWhenDisconnected whether a backend that stopped answering is DOWN */
    public CoordinatorHealthIndicator(DistributedPoolManager manager, boolean downWhenDisconnected) {
        super("Coordinator health check failed");
        this.manager = manager;
        this.downWhenDisconnected = downWhenDisconnected;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        CoordinationStatus status = this.manager.status();
        builder.withDetail("instance", status.instanceId())
            .withDetail("requestedBackend", status.requestedBackend())
            .withDetail("backend", status.activeBackend())
            .withDetail("members", status.memberCount());
        if (status.leaderId() != null) {
            builder.withDetail("leaderId", status.leaderId());
        }
        List<String> partitioned = status.pools().entrySet().stream()
            .filter((pool) -> pool.getValue().partitioned())
            .map(Map.Entry::getKey)
            .toList();
        if (!partitioned.isEmpty()) {
            // Borrowers are served within each pool's partition size; the cap is not shared meanwhile.
            builder.withDetail("partitionedPools", partitioned);
        }
        // What the backend says an operator should see, e.g. Redis's maxmemory-policy (it should be noeviction).
        this.manager.backendDetails().forEach(builder::withDetail);
        if (!status.foreignApplications().isEmpty()) {
            // Their pools of the same names share this application's caps: one namespace per application.
            builder.withDetail("foreignApplications", status.foreignApplications());
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
            builder.withDetail("connected", false)
                .withDetail("error", Objects.requireNonNullElse(status.lastError(), "not synchronised yet"));
            if (this.downWhenDisconnected) {
                builder.down();
            }
            else {
                builder.up();
            }
            return;
        }
        builder.up();
    }
}
