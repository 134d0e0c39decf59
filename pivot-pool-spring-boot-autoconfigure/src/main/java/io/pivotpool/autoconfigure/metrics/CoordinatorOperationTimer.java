package io.pivotpool.autoconfigure.metrics;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.pivotpool.coordinator.CoordinatorObserver;

/**
 * {@code pivot.coordinator.operation}: a timer of every coordinator call, tagged
 * {@code operation}, {@code backend} and {@code outcome} ({@code success} or {@code failure}):
 * the coordination overhead. It observes the coordinator (the auto-configuration wraps the
 * active one with it) and records into the registries it was bound to; calls made before
 * binding are not recorded.
 */
public class CoordinatorOperationTimer implements CoordinatorObserver, MeterBinder {

    private final List<MeterRegistry> registries = new CopyOnWriteArrayList<>();

    @Override
    public void bindTo(MeterRegistry registry) {
        this.registries.add(registry);
    }

    @Override
    public void onOperation(String operation, String backend, long nanos, boolean success) {
        for (MeterRegistry registry : this.registries) {
            Timer.builder("pivot.coordinator.operation")
                .description("Calls to the coordination backend")
                .tag("operation", operation)
                .tag("backend", backend)
                .tag("outcome", success ? "success" : "failure")
                .register(registry)
                .record(nanos, TimeUnit.NANOSECONDS);
        }
    }
}
