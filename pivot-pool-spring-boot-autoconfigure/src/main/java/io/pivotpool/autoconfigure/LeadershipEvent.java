package io.pivotpool.autoconfigure;

import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.distributed.DistributedPoolManager;

import org.springframework.context.ApplicationEvent;

/**
 * This instance gained or lost leadership of its cluster. Published on the coordination's
 * background thread, in order; listen with {@code @EventListener} and hand long work to a thread
 * of your own. The {@link #fencingToken()} of a term exceeds that of every earlier term: pass it
 * along with leader-only writes so that a resource can reject a deposed leader's late ones.
 */
public abstract sealed class LeadershipEvent extends ApplicationEvent
        permits LeadershipEvent.Granted, LeadershipEvent.Revoked {

    private final LeaderLease lease;

    LeadershipEvent(DistributedPoolManager source, LeaderLease lease) {
        super(source);
        this.lease = lease;
    }

    /** This instance's id. */
    public String instanceId() {
        return this.lease.holderId();
    }

    /** The term this event is about. */
    public LeaderLease lease() {
        return this.lease;
    }

    /** The term's fencing token. */
    public long fencingToken() {
        return this.lease.fencingToken();
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[instance=" + instanceId() + ", term=" + fencingToken() + "]";
    }

    /** This instance leads from now on. */
    public static final class Granted extends LeadershipEvent {

        Granted(DistributedPoolManager source, LeaderLease lease) {
            super(source, lease);
        }
    }

    /**
     * This instance stopped leading: it resigned, another instance took over, or it could not
     * renew its term in time (published before another instance can be elected, unless this
     * process was paused).
     */
    public static final class Revoked extends LeadershipEvent {

        Revoked(DistributedPoolManager source, LeaderLease lease) {
            super(source, lease);
        }
    }
}
