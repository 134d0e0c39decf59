package io.pivotpool.coordinator;

import org.jspecify.annotations.Nullable;

/**
 * What a backend's registration found about other processes with its instance's id, kept for a
 * while ({@link DuplicateInstanceIdException}). Each of two such processes overwrites the other's
 * registration when it finds it, so either one finds the other's record in some heartbeats and
 * its own in others, depending on how their rounds interleave. A heartbeat that found its own
 * record therefore still fails for twice the registration's ttl after the last duplicate found:
 * the other process, while it lives, writes its record at least once in that time, so neither
 * renews a grant or a leadership in between.
 */
public final class DuplicateInstanceIds {

    private record Seen(String backend, String instanceId, long otherStartedAtMillis, long ownStartedAtMillis,
            long atNanos, long holdNanos) {
    }

    private volatile @Nullable Seen seen;

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
        long now = System.nanoTime();
        Seen last = this.seen;
        if (otherStartedAtMillis >= 0) {
            last = new Seen(backend, instance.id(), otherStartedAtMillis, instance.startedAtMillis(), now,
                    2_000_000L * Math.max(1, ttlMillis));
            this.seen = last;
        }
        else if (last == null || !last.instanceId().equals(instance.id())) {
            return;
        }
        else if (now - last.atNanos() >= last.holdNanos()) {
            this.seen = null;
            return;
        }
        throw new DuplicateInstanceIdException(last.backend(), last.instanceId(), last.otherStartedAtMillis(),
                last.ownStartedAtMillis());
    }
}
