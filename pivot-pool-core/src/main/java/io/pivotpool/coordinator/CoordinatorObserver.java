package io.pivotpool.coordinator;

/**
 * Listens to every call made through an {@link ObservedCoordinator}: the hook that lets metrics
 * (the Boot module's {@code pivot.coordinator.*} timers) measure the coordination overhead.
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
}
