package io.pivotpool.distributed;

import io.pivotpool.coordinator.LeaderLease;

/**
 * Told when this instance gains or loses leadership, so that application code can do leader-only
 * work and guard its own resources with the term's fencing token. Called on the manager's
 * background threads, one call at a time and in order; a listener must return quickly and should
 * hand long work to a thread of its own. An exception it throws is logged and otherwise ignored.
 */
public interface LeadershipListener {

    /** This instance leads from now on, in the term of {@code lease}. */
    void leadershipGranted(LeaderLease lease);

    /**
     * This instance stopped leading in the term of {@code lease}: it resigned, another instance
     * took over, or it could not renew the lease in time. Called before another instance can be
     * elected whenever this instance's clock and thread allow it (a paused process is told late).
     */
    void leadershipRevoked(LeaderLease lease);
}
