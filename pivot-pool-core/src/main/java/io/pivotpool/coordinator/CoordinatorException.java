package io.pivotpool.coordinator;

/** A coordination backend failed or timed out. Messages name the backend and never carry secrets. */
public class CoordinatorException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public CoordinatorException(String message) {
        super(message);
    }

    public CoordinatorException(String message, Throwable cause) {
        super(message, cause);
    }
}
