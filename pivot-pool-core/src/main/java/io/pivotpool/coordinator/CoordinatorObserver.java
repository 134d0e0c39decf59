package io.pivotpool.coordinator;

import org.jspecify.annotations.Nullable;

/**
 * Listens to every call made to the active coordinator, by the manager and by application code
 * alike: the hook that lets metrics (the Boot module's {@code pivot.coordinator.*} timers) measure
 * the coordination overhead. The Spring Boot auto-configuration wraps the coordinator it selected
 * with every {@code CoordinatorObserver} bean once, before anything calls it.
 * Called on the calling thread after each call; it must be quick and must not throw (an exception
 * is logged and ignored).
 */
@FunctionalInterface
public interface CoordinatorObserver {

    /**
     * One SPI call completed.
     *
     * @param operation the {@link Coordinator} method's name: {@code connect}, {@code heartbeat},
     *     {@code tryAcquireLeadership}, {@code pop}, ...
     * @param backend the coordinator's {@link Coordinator#name() name}
     * @param nanos how long the call took
     * @param success whether it returned normally (a call that threw is a failure)
     */
    void onOperation(String operation, String backend, long nanos, boolean success);

    /**
     * One SPI call is about to be made, on the calling thread: for observers that wrap the call
     * (a trace span, an {@code Observation}) rather than only time it. What it returns is told the
     * outcome right after the call, before {@link #onOperation}. By default nothing.
     *
     * @param operation as for {@link #onOperation}
     * @param backend as for {@link #onOperation}
     * @return what to tell when the call has ended; never null
     */
    default Call started(String operation, String backend) {
        return Call.NOTHING;
    }

    /** A call in flight, as {@link #started} saw it begin. */
    @FunctionalInterface
    interface Call {

        /** Nothing to tell. */
        Call NOTHING = (error) -> {
        };

        /**
         * The call ended.
         *
         * @param error what it threw, or null when it returned normally
         */
        void finished(@Nullable Throwable error);
    }
}
