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
 * cluster-wide cap, tagged {@code pool}: {@code pivot.pool.global.max.size}, {@code .grant},
 * {@code .target}, {@code .demand} and {@code .partitioned}. All read the manager's status once
 * per scrape (see {@link ScrapeSnapshot}).
 */
public class CoordinatorMeterBinder implements MeterBinder {

    private final DistributedPoolManager manager;

    public CoordinatorMeterBinder(DistributedPoolManager manager) {
        this.manager = manager;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        new StatusMeters(registry).bind();
    }

    /** The meters bound to one registry, sharing one status per scrape. */
    private final class StatusMeters {

        private final MeterRegistry registry;

        private final ScrapeSnapshot<CoordinationStatus> status = new ScrapeSnapshot<>(
                CoordinatorMeterBinder.this.manager::status);

        StatusMeters(MeterRegistry registry) {
            this.registry = registry;
        }

        void bind() {
            CoordinationStatus current = CoordinatorMeterBinder.this.manager.status();
            Tags tags = Tags.of("backend", current.activeBackend());
            gauge("pivot.coordinator.connected", tags, "1 when the last synchronisation reached the coordinator, else 0",
                    (status) -> status.connected() ? 1 : 0);
            gauge("pivot.coordinator.leader", tags, "1 when this instance leads, else 0",
                    (status) -> status.isLeader() ? 1 : 0);
            gauge("pivot.coordinator.members", tags, "Live instances seen at the last synchronisation",
                    CoordinationStatus::memberCount);
            gauge("pivot.coordinator.foreign.applications", tags,
                    "Other applications whose instances share this namespace, as the leader last listed them",
                    (status) -> status.foreignApplications().size());
            counter("pivot.coordinator.fallback", tags.and("requested", current.requestedBackend()),
                    "Fallbacks from the requested backend to the no-op coordinator",
                    (status) -> (status.fallbackReason() != null) ? 1 : 0);
            counter("pivot.coordinator.rebalances", tags,
                    "Rounds in which this instance, as leader, shared the pools' caps anew",
                    CoordinationStatus::rebalances);
            if (CoordinatorMeterBinder.this.manager.coordinator().capacityConflicts() >= 0) {
                // Only for backends whose grants can conflict (etcd): a counter that is always 0
                // elsewhere would only suggest that nothing contends.
                FunctionCounter
                    .builder("pivot.coordinator.capacity.conflicts", CoordinatorMeterBinder.this.manager,
                            (manager) -> Math.max(0, manager.coordinator().capacityConflicts()))
                    .tags(tags)
                    .description("Capacity requests that found a pool's grants changed by another instance "
                            + "meanwhile and tried again")
                    .register(this.registry);
            }
            current.pools().keySet().forEach(this::bindCapacity);
        }

        /** The share of a capped pool's cluster-wide cap. */
        private void bindCapacity(String pool) {
            Tags tags = Tags.of("pool", pool);
            capacityGauge(pool, tags, "pivot.pool.global.max.size", "The pool's cluster-wide cap",
                    PoolCapacity::globalMaxSize);
            capacityGauge(pool, tags, "pivot.pool.grant", "Objects the coordinator granted this instance",
                    PoolCapacity::grant);
            capacityGauge(pool, tags, "pivot.pool.target",
                    "Objects the leader asked this instance to hold (-1: none yet)", PoolCapacity::target);
            capacityGauge(pool, tags, "pivot.pool.demand", "Objects used or waited for at the recent peak",
                    PoolCapacity::demand);
            capacityGauge(pool, tags, "pivot.pool.partitioned",
                    "1 while this instance runs on its partition size, unable to renew its grant",
                    (capacity) -> capacity.partitioned() ? 1 : 0);
        }

        private void capacityGauge(String pool, Tags tags, String name, String description,
                ToDoubleFunction<PoolCapacity> value) {
            gauge(name, tags, description, (status) -> {
                PoolCapacity capacity = status.pools().get(pool);
                return (capacity != null) ? value.applyAsDouble(capacity) : Double.NaN;
            });
        }

        private void gauge(String name, Tags tags, String description, ToDoubleFunction<CoordinationStatus> value) {
            ScrapeSnapshot<CoordinationStatus>.Reader status = this.status.reader();
            Gauge.builder(name, CoordinatorMeterBinder.this.manager, (m) -> value.applyAsDouble(status.get()))
                .tags(tags)
                .description(description)
                .register(this.registry);
        }

        private void counter(String name, Tags tags, String description, ToDoubleFunction<CoordinationStatus> value) {
            ScrapeSnapshot<CoordinationStatus>.Reader status = this.status.reader();
            FunctionCounter
                .builder(name, CoordinatorMeterBinder.this.manager, (m) -> value.applyAsDouble(status.get()))
                .tags(tags)
                .description(description)
                .register(this.registry);
        }
    }
}
