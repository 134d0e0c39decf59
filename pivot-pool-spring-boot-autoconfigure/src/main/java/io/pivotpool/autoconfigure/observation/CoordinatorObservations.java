package io.pivotpool.autoconfigure.observation;

import io.micrometer.common.KeyValues;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.pivotpool.coordinator.CoordinatorObserver;

/**
 * Every call to the coordination backend as a Micrometer {@link Observation} named
 * {@value #NAME}, with the low-cardinality keys {@code operation} (the SPI method: {@code round},
 * {@code heartbeat}, {@code requestCapacity}, ...), {@code backend} ({@code redis}, {@code etcd},
 * ...) and {@code outcome} ({@code success} or {@code failure}); a failed call also carries its
 * error. Boot's tracing turns each into a span, and its metrics into a timer of the same name. The
 * borrow path never calls the backend, so it is never observed. Switched off, as any observation,
 * with {@code management.observations.enable.pivot.coordinator.call=false}.
 */
public class CoordinatorObservations implements CoordinatorObserver {

    /** The observations' name. */
    public static final String NAME = "pivot.coordinator.call";

    private final ObservationRegistry registry;

    public CoordinatorObservations(ObservationRegistry registry) {
        this.registry = registry;
    }

    @Override
    public Call started(String operation, String backend) {
        Observation observation = Observation.createNotStarted(NAME, this.registry)
            .contextualName("coordinator " + operation)
            .lowCardinalityKeyValues(KeyValues.of("operation", operation, "backend", backend))
            .start();
        return (error) -> {
            observation.lowCardinalityKeyValue("outcome", (error == null) ? "success" : "failure");
            if (error != null) {
                observation.error(error);
            }
            observation.stop();
        };
    }

    @Override
    public void onOperation(String operation, String backend, long nanos, boolean success) {
        // Timed by the observation itself.
    }
}
