package io.pivotpool.autoconfigure;

import io.pivotpool.distributed.internal.CoordinatorSelection;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.core.env.Environment;

/**
 * "APPLICATION FAILED TO START" when {@code distributed.fail-fast=true} turned an unusable backend
 * into a start-up failure: which backend, why (the selection's own sentence, with the address
 * the backend could not reach), the properties involved, and the fix: add the missing module,
 * make the backend reachable, pick another backend, or let the instance start alone.
 */
class CoordinationUnavailableFailureAnalyzer extends AbstractFailureAnalyzer<CoordinationUnavailableException> {

    private static final String FALL_BACK = "or set distributed.fail-fast=false to start alone on the no-op "
            + "coordinator (this instance then does not coordinate until it restarts).";

    private final Environment environment;

    CoordinationUnavailableFailureAnalyzer(Environment environment) {
        this.environment = environment;
    }

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, CoordinationUnavailableException cause) {
        String backend = cause.backend();
        String failFast = "distributed.fail-fast=true" + origin("distributed.fail-fast")
                + " stops start-up instead of falling back to the no-op coordinator.";
        return switch (cause.kind()) {
            case MISSING -> new FailureAnalysis(
                    cause.getMessage() + "\n\nRequested by distributed.coordination=" + backend
                            + origin("distributed.coordination") + "; " + failFast,
                    "Add " + module(backend) + " to the application's dependencies, or set "
                            + "distributed.coordination to " + choices(cause) + ", " + FALL_BACK,
                    cause);
            case FAILED -> new FailureAnalysis(
                    cause.getMessage() + "\n\nRequested by distributed.coordination=" + backend
                            + origin("distributed.coordination") + "; " + failFast,
                    "Make backend '" + backend + "' reachable at the address above" + connection(backend) + ", "
                            + FALL_BACK,
                    cause);
            case SUPPLIED_FAILED -> new FailureAnalysis(
                    cause.getMessage() + "\n\nThe coordinator is the application's own Coordinator bean; " + failFast,
                    "Make the server of the application's Coordinator bean ('" + backend + "') reachable, "
                            + FALL_BACK,
                    cause);
        };
    }

    private String origin(String property) {
        return PropertyOrigins.describe(this.environment, property);
    }

    private static String module(String backend) {
        String module = CoordinatorSelection.moduleOf(backend);
        return (module != null) ? module + " (the '" + backend + "' backend)"
                : "the module that provides backend '" + backend + "' (its CoordinatorProvider bean names it)";
    }

    private static String choices(CoordinationUnavailableException cause) {
        return cause.available().isEmpty() ? "none"
                : "a backend on the class path (" + String.join(", ", cause.available()) + ") or none";
    }

    private static String connection(String backend) {
        return switch (backend) {
            case "redis" -> " (spring.data.redis.* or distributed.redis.*)";
            case "etcd" -> " (distributed.etcd.*)";
            default -> "";
        };
    }
}
