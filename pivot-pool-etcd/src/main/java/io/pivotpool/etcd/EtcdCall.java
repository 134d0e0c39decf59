package io.pivotpool.etcd;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.etcd.jetcd.common.exception.EtcdException;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.support.RemoteText;

import static io.pivotpool.etcd.EtcdFailures.find;
import static io.pivotpool.etcd.EtcdFailures.isPermissionDenied;
import static io.pivotpool.etcd.EtcdFailures.summary;
import static io.pivotpool.etcd.EtcdFailures.tlsProblem;

/**
 * One SPI call to etcd: its name for messages, and the deadline all its round trips share. Every
 * round trip is awaited through {@link #await}, which waits at most until that deadline, records
 * on the connection whether etcd answered, and turns a failure into the {@link CoordinatorException}
 * callers see, naming etcd, the endpoints and the namespace, never a password.
 */
final class EtcdCall {

    private final String operation;

    private final long deadline;

    private final EtcdConnection connection;

    EtcdCall(EtcdConnection connection, String operation, long deadline) {
        this.connection = connection;
        this.operation = operation;
        this.deadline = deadline;
    }

    boolean hasTimeLeft() {
        return this.deadline - System.nanoTime() > 0;
    }

    CoordinatorException timedOut() {
        return new CoordinatorException(RemoteText.escapeControls(this.connection.describe(this.operation))
                + ": no answer within " + Duration.ofNanos(this.connection.timeoutNanos()).toMillis() + " ms");
    }

    /** Waits for one round trip, at most until the call's deadline; a late reply is discarded. */
    <T> T await(CompletableFuture<T> future) {
        long remaining = this.deadline - System.nanoTime();
        try {
            if (remaining <= 0) {
                throw new TimeoutException();
            }
            T result = future.get(remaining, TimeUnit.NANOSECONDS);
            this.connection.connected(true);
            return result;
        }
        catch (ExecutionException ex) {
            throw failed(this.operation, Objects.requireNonNullElse(ex.getCause(), ex));
        }
        catch (TimeoutException ex) {
            future.cancel(true);
            this.connection.connected(false);
            throw timedOut();
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            future.cancel(true);
            throw new CoordinatorException(
                    RemoteText.escapeControls(this.connection.describe(this.operation) + ": interrupted"), ex);
        }
        catch (RuntimeException ex) {
            if (ex instanceof CoordinatorException coordinatorException) {
                throw coordinatorException;
            }
            throw failed(this.operation, ex);
        }
    }

    /**
     * Turns a failure into the exception callers see. etcd counts as reachable only if it answered
     * with an error of its own (not unavailable, timed out, cancelled or refused credentials).
     */
    private CoordinatorException failed(String operation, Throwable ex) {
        Throwable failure = ex;
        while ((failure instanceof ExecutionException || failure instanceof CompletionException)
                && failure.getCause() != null) {
            failure = failure.getCause();
        }
        EtcdException etcd = find(failure, EtcdException.class);
        this.connection.connected(etcd != null && switch (etcd.getErrorCode()) {
            case UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, UNAUTHENTICATED, PERMISSION_DENIED, UNKNOWN -> false;
            default -> true;
        });
        String hint = tlsProblem(failure);
        String username = this.connection.username();
        if (hint == null && isPermissionDenied(failure, etcd)) {
            // etcd's own text ("etcdserver: permission denied") names neither the user nor the keys.
            hint = "etcd denied " + ((username != null) ? "user '" + RemoteText.escape(username) + "'" : "the client")
                    + " access to its keys: the user's role needs readwrite permission on the prefix '"
                    + RemoteText.escape(this.connection.keys().all()) + "'";
        }
        return new CoordinatorException(RemoteText.escapeControls(this.connection.describe(operation)) + ": "
                + ((hint != null) ? hint + ": " : "") + summary(failure, this.connection.secret()), failure);
    }
}
