package io.pivotpool.distributed.simulation;

/** What the simulation checks; a failure names one of these. */
enum Invariant {

    /**
     * At most one instance trusts that it leads ({@code isLeader()}) at any instant. The one
     * documented exception: within one leader-ttl of a lossy fail-over, a deposed or resurrected
     * term may be trusted beside the new one, and then their fencing tokens differ (order them).
     */
    ONE_TRUSTED_LEADER,

    /**
     * At most one instance whose leadership listeners were told it leads, except instances paused
     * (or resumed less than one deadline-watch period ago: their watch has not run yet), which the
     * pause rule allows ("a paused process is told late"); their terms are older, so their tokens
     * are smaller than the leader's.
     */
    ONE_ANNOUNCED_LEADER,

    /** Fencing tokens seen by one observer (granted to it, announced to it, read by it) never go back. */
    TOKENS_INCREASE,

    /**
     * Objects alive in the cluster ≤ global-max-size while every instance renews in time, and
     * ≤ global-max-size + Σ over the cut-off instances of min(partition-size, last grant) otherwise
     * (a paused instance counts what it held when it froze, until it has returned it).
     */
    OBJECTS_WITHIN_BOUND,

    /** The backend's recorded grants of a pool never sum above its cap. */
    RECORDED_GRANTS_WITHIN_CAP,

    /**
     * Within the stated bound after the last fault: one leader, every live instance holds a grant
     * and is not partitioned, the recorded grants sum to at most the cap, and the borrowers are
     * served up to min(global-max-size, their demand).
     */
    LIVENESS
}
