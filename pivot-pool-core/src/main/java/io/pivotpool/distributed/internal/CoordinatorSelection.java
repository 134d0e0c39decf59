package io.pivotpool.distributed.internal;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.CoordinatorProvider;
import io.pivotpool.coordinator.NoOpCoordinator;
import io.pivotpool.distributed.DistributedSettings;

import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Picks and connects the coordinator an instance runs on. A backend that is unknown, not on the
 * classpath, or fails to be created logs ONE warning naming the requested backend and the reason
 * and is replaced by {@link NoOpCoordinator}, so the application runs in single-instance mode with
 * no error. A backend that is created but cannot connect is kept, with ONE warning: a backend
 * down at start-up is treated as one lost later, so the instance's rounds try it again and it
 * joins its cluster once the backend answers, instead of running alone for its whole life (a
 * capped pool of a lone instance could take the whole cap while the others share it). With
 * {@code fail-fast} each of these messages is thrown instead. Spring Boot's auto-configuration
 * and {@code HighPerformanceMode} both select through here, so both behave alike.
 *
 * @apiNote Internal: public only because Pivot Pool's own modules (the Spring Boot
 *     auto-configuration, {@code HighPerformanceMode}, the test kit) share it across packages.
 *     It is not an API: it may change in any release. Applications
 *     get coordination from the auto-configuration or {@code HighPerformanceMode}; backends
 *     implement {@link io.pivotpool.coordinator.CoordinatorProvider}.
 */
public final class CoordinatorSelection {

    private static final Logger logger = LoggerFactory.getLogger(CoordinatorSelection.class);

    private CoordinatorSelection() {
    }

    /**
     * Selects the provider named by {@link DistributedSettings#coordination()} among
     * {@code providers}, creates its coordinator under {@link DistributedSettings#namespace()} and
     * connects it. Disabled coordination, or {@code none}, selects the no-op coordinator without
     * a warning.
     *
     * @throws CoordinatorException with the fallback message, when {@code fail-fast} is on and the
     *     requested backend cannot be used
     * @throws IllegalStateException if two providers share the requested name (a packaging error)
     */
    public static ActiveCoordinator select(DistributedSettings settings,
            Collection<? extends CoordinatorProvider> providers) {
        Objects.requireNonNull(settings, "settings must not be null");
        Objects.requireNonNull(providers, "providers must not be null");
        if (!settings.enabled() || isNone(settings.coordination())) {
            return new ActiveCoordinator(DistributedSettings.NO_COORDINATION, connectedNoOp(), null);
        }
        String requested = settings.coordination();
        List<CoordinatorProvider> named = new ArrayList<>();
        List<String> available = new ArrayList<>();
        for (CoordinatorProvider provider : providers) {
            if (requested.equals(provider.name())) {
                named.add(provider);
            }
            if (!available.contains(provider.name())) {
                available.add(provider.name());
            }
        }
        if (named.isEmpty()) {
            available.sort(null);
            String module = moduleOf(requested);
            return fallBack(settings, requested, "is not available: no coordinator named '" + requested
                    + "' is on the classpath; available: "
                    + (available.isEmpty() ? "none" : String.join(", ", available))
                    + ((module != null) ? "; add " + module + " to the application's dependencies" : ""));
        }
        if (named.size() > 1) {
            throw new IllegalStateException("Coordination backend '" + requested + "' is provided " + named.size()
                    + " times (" + describe(named) + "); keep one of them on the classpath");
        }
        Coordinator coordinator;
        try {
            coordinator = Objects.requireNonNull(named.get(0).create(settings.namespace()),
                    "the provider returned no coordinator");
        }
        catch (RuntimeException ex) {
            return fallBack(settings, requested, "could not be created: " + reason(ex));
        }
        return connect(settings, requested, coordinator);
    }

    /**
     * Connects a coordinator supplied directly (a user's own bean or object) instead of one
     * selected by name; one that cannot connect is kept as a selected one is. The requested
     * backend is the coordinator's own name.
     *
     * @throws CoordinatorException with the fallback message, when {@code fail-fast} is on and the
     *     coordinator cannot connect
     */
    public static ActiveCoordinator use(Coordinator coordinator, DistributedSettings settings) {
        Objects.requireNonNull(coordinator, "coordinator must not be null");
        Objects.requireNonNull(settings, "settings must not be null");
        return connect(settings, coordinator.name(), coordinator);
    }

    private static ActiveCoordinator connect(DistributedSettings settings, String requested, Coordinator coordinator) {
        try {
            coordinator.connect();
        }
        catch (RuntimeException ex) {
            String message = "Coordination backend '" + requested + "' could not connect: " + reason(ex);
            if (settings.failFast()) {
                closeQuietly(coordinator);
                throw new CoordinatorException(message + " (distributed.fail-fast is true)");
            }
            // Not connected is not broken: the manager's rounds connect it when it answers. Until
            // then the instance is cut off, and its capped pools hold nothing (it has no grant to
            // keep), which is what an instance that lost its backend right after start-up does.
            logger.warn("{}; keeping it and trying again every sync-interval: until it answers, this instance "
                    + "is cut off and its capped pools hold nothing (set distributed.fail-fast=true to fail instead)",
                    message);
        }
        return new ActiveCoordinator(requested, coordinator, null);
    }

    /**
     * The module (Maven {@code groupId:artifactId}) that brings {@code backend}, for the backends
     * this project publishes; null for any other name (an extension names its own).
     */
    public static @Nullable String moduleOf(String backend) {
        return switch (backend) {
            case "redis" -> "io.pivotpool:pivot-pool-redis";
            case "etcd" -> "io.pivotpool:pivot-pool-etcd";
            default -> null;
        };
    }

    private static ActiveCoordinator fallBack(DistributedSettings settings, String requested, String reason) {
        String message = "Coordination backend '" + requested + "' " + reason;
        if (settings.failFast()) {
            throw new CoordinatorException(message + " (distributed.fail-fast is true)");
        }
        logger.warn("{}; falling back to the no-op coordinator: this instance runs alone "
                + "(set distributed.fail-fast=true to fail instead)", message);
        return new ActiveCoordinator(requested, connectedNoOp(), message);
    }

    private static boolean isNone(String coordination) {
        return DistributedSettings.NO_COORDINATION.equals(coordination) || NoOpCoordinator.NAME.equals(coordination);
    }

    private static Coordinator connectedNoOp() {
        NoOpCoordinator noOp = new NoOpCoordinator();
        noOp.connect();
        return noOp;
    }

    /**
     * The exception's own message and class: backends promise that their messages carry no
     * secrets, and nothing else (no stack trace, no cause chain of driver internals) is logged.
     */
    private static String reason(RuntimeException ex) {
        String message = ex.getMessage();
        return (message == null || message.isBlank()) ? ex.getClass().getSimpleName()
                : message + " (" + ex.getClass().getSimpleName() + ")";
    }

    private static String describe(List<CoordinatorProvider> providers) {
        List<String> classes = new ArrayList<>();
        for (CoordinatorProvider provider : providers) {
            classes.add(provider.getClass().getName());
        }
        return String.join(", ", classes);
    }

    private static void closeQuietly(Coordinator coordinator) {
        try {
            coordinator.close();
        }
        catch (RuntimeException ex) {
            logger.debug("Closing coordinator '{}' after a failed connect failed too", coordinator.name(), ex);
        }
    }
}
