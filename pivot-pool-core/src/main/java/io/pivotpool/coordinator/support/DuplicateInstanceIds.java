package io.pivotpool.coordinator.support;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.pivotpool.coordinator.DuplicateInstanceIdException;
import io.pivotpool.coordinator.InstanceInfo;

/**
 * What a backend's registration found about other processes with its instance's id, kept for a
 * while ({@link DuplicateInstanceIdException}). Each of two such processes overwrites the other's
 * registration when it finds it, so either one finds the other's record in some heartbeats and
 * its own in others, depending on how their rounds interleave. A heartbeat that found its own
 * record therefore still fails for twice the registration's ttl after the last duplicate found:
 * the other process, while it lives, writes its record at least once in that time, so neither
 * renews a grant or a leadership in between. The processes are told apart by their start time
 * ({@link InstanceInfo#startedAtMillis()}): two processes given one {@code InstanceInfo}, start
 * time included, look like one and are not found.
 */
public final class DuplicateInstanceIds {

    private record Seen(String backend, String instanceId, long otherStartedAtMillis, long ownStartedAtMillis,
            long atNanos, long holdNanos) {
    }

    private final Map<String, Seen> seen = new ConcurrentHashMap<>();

    /**
     * Call after each registration or heartbeat of {@code instance}.
     *
     * @param backend the backend's name for the message
     * @param instance the instance registered
     * @param otherStartedAtMillis when the other process whose record the call found started, or
     * -1 when the record found was this instance's own (or none)
     * @param ttlMillis the registration's ttl
     * @throws DuplicateInstanceIdException when another process was found now or within twice the ttl
     */
    public void check(String backend, InstanceInfo instance, long otherStartedAtMillis, long ttlMillis) {
        if (otherStartedAtMillis >= 0) {
            this.seen.put(instance.id(), new Seen(backend, instance.id(), otherStartedAtMillis,
                    instance.startedAtMillis(), System.nanoTime(), 2_000_000L * Math.max(1, ttlMillis)));
        }
        requireNotHeld(instance.id());
    }

    /**
     * Fails while another process registering {@code instanceId} was found within twice the ttl:
     * call it before a request that could renew something the instance trusts (a capacity grant
     * asked for outside a round), so that the hold covers it too.
     *
     * @throws DuplicateInstanceIdException naming the other process
     */
    public void requireNotHeld(String instanceId) {
        Seen last = this.seen.get(instanceId);
        if (last == null) {
            return;
        }
        if (System.nanoTime() - last.atNanos() >= last.holdNanos()) {
            this.seen.remove(instanceId, last);
            return;
        }
        throw new DuplicateInstanceIdException(last.backend(), last.instanceId(), last.otherStartedAtMillis(),
                last.ownStartedAtMillis());
    }
}
