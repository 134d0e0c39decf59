package io.pivotpool.autoconfigure;

import java.util.List;

import io.pivotpool.coordinator.CoordinatorException;

/**
 * With {@code distributed.fail-fast=true}, the requested backend could not be used: start-up
 * stops, and {@link CoordinationUnavailableFailureAnalyzer} says which backend, why, and how to
 * fix it. The cause is the selection's {@link CoordinatorException}, whose message is the same
 * sentence the fallback warning would have logged.
 */
class CoordinationUnavailableException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Why the backend could not be used. */
    enum Kind {

        /** No backend of the requested name is on the class path. */
        MISSING,

        /** The backend of {@code distributed.coordination} could not be created or connect. */
        FAILED,

        /** The application's own {@code Coordinator} bean could not connect. */
        SUPPLIED_FAILED
    }

    private final String backend;

    private final Kind kind;

    private final List<String> available;

    /**
     * @param backend the requested backend's name
     * @param kind why it could not be used
     * @param available the names of every backend on the class path
     * @param cause why the selection gave up
     */
    CoordinationUnavailableException(String backend, Kind kind, List<String> available, CoordinatorException cause) {
        super(cause.getMessage(), cause);
        this.backend = backend;
        this.kind = kind;
        this.available = List.copyOf(available);
    }

    String backend() {
        return this.backend;
    }

    Kind kind() {
        return this.kind;
    }

    List<String> available() {
        return this.available;
    }
}
