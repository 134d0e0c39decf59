package io.pivotpool.coordinator;

import java.time.Instant;

import io.pivotpool.coordinator.support.RemoteText;

/**
 * Another live process registers with this instance's id: the backend found a registration under
 * the id that this instance did not write, with another start time. Two processes with one id
 * would share one grant per pool and one leadership term (each would trust the whole grant, and
 * both would lead), so the coordinator fails the call instead: while both run, neither renews its
 * grants or its leadership, and their capped pools fall back to their partition size. Each
 * overwrites the other's registration when it finds it, so that both find out.
 */
public class DuplicateInstanceIdException extends CoordinatorException {

    private static final long serialVersionUID = 1L;

    /**
     * @param backend the backend's name for the message, such as {@code Redis}
     * @param instanceId the id both processes register with
     * @param otherStartedAtMillis when the other process started, epoch milliseconds
     * @param ownStartedAtMillis when this one started
     */
    public DuplicateInstanceIdException(String backend, String instanceId, long otherStartedAtMillis,
            long ownStartedAtMillis) {
        super("Another live instance registers with id '" + RemoteText.escape(instanceId) + "' on " + backend
                + " (it started at " + Instant.ofEpochMilli(otherStartedAtMillis) + ", this one at "
                + Instant.ofEpochMilli(ownStartedAtMillis) + "). Two instances with one id would share its grants "
                + "and its leadership, so neither renews them until one stops or changes its id: give every "
                + "instance its own id (DistributedPoolManager.localInstance generates one; never share an "
                + "InstanceInfo between processes)");
    }
}
