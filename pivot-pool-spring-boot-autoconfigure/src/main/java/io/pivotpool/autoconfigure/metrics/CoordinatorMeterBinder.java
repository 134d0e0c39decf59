package io.pivotpool.autoconfigure.metrics;

import java.util.function.ToDoubleFunction;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.pivotpool.distributed.CoordinationStatus;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.distributed.PoolCapacity;

/**
 * {@code pivot.coordinator.*} state of this instance, tagged with the active {@code backend}:
 * whether it is connected, whether it leads, how many members it sees, and a counter of
 * fallbacks (tagged with the {@code requested} backend) that is 1 when the requested backend
 * could not be used; a counter of the leader's rebalance rounds; and for every pool with a
 * cluster-wide cap, tagged {@code pool}: {@code pivot.pool.global.max}, {@code .grant},
 * {@code .target}, {@code .demand} and {@code .partitioned}.
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
        FunctionCounter.builder("pivot.coordinator.rebalances", this.manager, (m) -> m.status().rebalances())
            .tags(tags)
            .description("Rounds in which this instance, as leader, shared the pools' caps anew")
            .register(registry);
        status.pools().keySet().forEach((pool) -> bindCapacity(registry, pool));
    }

    /** The share of a capped pool's cluster-wide cap, read from the manager's status when scraped. */
    private void bindCapacity(MeterRegistry registry, String pool) {
        Tags tags = Tags.of("pool", pool);
        capacityGauge(registry, tags, pool, "global.max", "The pool's cluster-wide cap", PoolCapacity::globalMaxSize);
        capacityGauge(registry, tags, pool, "grant", "Objects the coordinator granted this instance",
                PoolCapacity::grant);
        capacityGauge(registry, tags, pool, "target", "Objects the leader asked this instance to hold (-1: none yet)",
                PoolCapacity::target);
        capacityGauge(registry, tags, pool, "demand", "Objects used or waited for at the recent peak",
                PoolCapacity::demand);
        capacityGauge(registry, tags, pool, "partitioned",
                "1 while this instance runs on its partition size, unable to renew its grant",
                (capacity) -> capacity.partitioned() ? 1 : 0);
    }

    private void capacityGauge(MeterRegistry registry, Tags tags, String pool, String name, String description,
            ToDoubleFunction<PoolCapacity> value) {
        Gauge.builder("pivot.pool." + name, this.manager, (m) -> {
            PoolCapacity capacity = m.status().pools().get(pool);
            return (capacity != null) ? value.applyAsDouble(capacity) : Double.NaN;
        }).tags(tags).description(description).register(registry);
    }
}
