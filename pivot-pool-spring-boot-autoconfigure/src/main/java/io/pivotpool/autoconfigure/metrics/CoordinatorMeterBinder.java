package io.pivotpool.autoconfigure.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.pivotpool.distributed.CoordinationStatus;
import io.pivotpool.distributed.DistributedPoolManager;

/**
 * {@code pivot.coordinator.*} state of this instance, tagged with the active {@code backend}:
 * whether it is connected, whether it leads, how many members it sees, and a counter of
 * fallbacks (tagged with the {@code requested} backend) that is 1 when the requested backend
 * could not be used.
 */
public class CoordinatorMeterBinder implements MeterBinder {

    private final DistributedPoolManager manager;

    public CoordinatorMeterBinder(DistributedPoolManager manager) {
        this.manager = manager;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        CoordinationStatus status = this.manager.status();
        Tags tags = Tags.of("backend", status.activeBackend());
        Gauge.builder("pivot.coordinator.connected", this.manager, (m) -> m.status().connected() ? 1 : 0)
            .tags(tags)
            .description("1 when the last synchronisation reached the coordinator, else 0")
            .register(registry);
        Gauge.builder("pivot.coordinator.leader", this.manager, (m) -> m.isLeader() ? 1 : 0)
            .tags(tags)
            .description("1 when this instance leads, else 0")
            .register(registry);
        Gauge.builder("pivot.coordinator.members", this.manager, (m) -> m.status().members().size())
            .tags(tags)
            .description("Live instances seen at the last synchronisation")
            .register(registry);
        FunctionCounter
            .builder("pivot.coordinator.fallback", this.manager, (m) -> (m.status().fallbackReason() != null) ? 1 : 0)
            .tags(tags.and("requested", status.requestedBackend()))
            .description("Fallbacks from the requested backend to the no-op coordinator")
            .register(registry);
    }
}
