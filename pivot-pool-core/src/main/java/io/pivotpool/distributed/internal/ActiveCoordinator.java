package io.pivotpool.distributed.internal;

import java.util.Objects;

import org.jspecify.annotations.Nullable;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorObserver;

/**
 * The outcome of {@link CoordinatorSelection}: the backend that was asked for and the connected
 * coordinator that runs, which is the no-op one after a fallback.
 *
 * @param requestedBackend the name asked for by {@code distributed.coordination} ({@code none}
 *     when coordination is disabled), or the name of a coordinator supplied directly
 * @param coordinator the coordinator in use, already connected
 * @param fallbackReason why the requested backend is not the one in use (the text of the one
 *     warning that was logged), or {@code null} when it is
 * @apiNote Internal: public only because Pivot Pool's own modules (the Spring Boot
 *     auto-configuration, {@code HighPerformanceMode}, the test kit) share it across packages.
 *     It is not an API: it may change in any release. Applications
 *     get coordination from the auto-configuration or {@code HighPerformanceMode}; backends
 *     implement {@link io.pivotpool.coordinator.CoordinatorProvider}.
 */
public record ActiveCoordinator(String requestedBackend, Coordinator coordinator, @Nullable String fallbackReason)
        implements AutoCloseable {

    public ActiveCoordinator {
        Objects.requireNonNull(requestedBackend, "requestedBackend must not be null");
        Objects.requireNonNull(coordinator, "coordinator must not be null");
    }

    /** The name of the backend in use: the coordinator's own name. */
    public String activeBackend() {
        return this.coordinator.name();
    }

    /** Whether the requested backend could not be used and the no-op coordinator runs instead. */
    public boolean fellBack() {
        return this.fallbackReason != null;
    }

    /**
     * The same selection with every call of the coordinator reported to {@code observer}; see
     * {@link ObservedCoordinator}. Call it once, before the coordinator is handed out.
     */
    public ActiveCoordinator observedBy(CoordinatorObserver observer) {
        return new ActiveCoordinator(this.requestedBackend, new ObservedCoordinator(this.coordinator, observer),
                this.fallbackReason);
    }

    /** Closes the coordinator (its connections and threads). */
    @Override
    public void close() {
        this.coordinator.close();
    }
}
