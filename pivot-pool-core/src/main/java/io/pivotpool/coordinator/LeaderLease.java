package io.pivotpool.coordinator;

import java.util.Objects;

/**
 * A term of leadership.
 *
 * @param holderId the leading instance
 * @param fencingToken the term's number: strictly greater than every earlier term's, so that a
 *     resource guarded by the leader can reject writes from a deposed one
 * @param ttlMillis how long the term lasts from its last renewal unless renewed again
 */
public record LeaderLease(String holderId, long fencingToken, long ttlMillis) {

    public LeaderLease {
        Objects.requireNonNull(holderId, "holderId must not be null");
    }
}
