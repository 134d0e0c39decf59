package io.pivotpool.autoconfigure;

import java.time.Duration;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Cluster-wide coordination, under the {@code distributed.*} keys. Durations left unset
 * take the {@code pivot.pool.profile}'s defaults; the rules are checked at start-up, and a broken
 * one stops the application with a message naming the property. Each backend module binds its own
 * connection settings below it ({@code distributed.redis.*} in {@code pivot-pool-redis}).
 */
@ConfigurationProperties("distributed")
public class DistributedProperties {

    /** Whether instances coordinate through a backend; when false each instance runs alone. */
    private boolean enabled;

    /** The coordination backend by name: none, redis (with pivot-pool-redis), etcd (with pivot-pool-etcd) or an extension's name. */
    private String coordination = "none";

    /** Prefix of every key the coordinator writes: 1 to 128 letters, digits, ':', '.', '-' or '_'. */
    private String namespace = "pivot:pools";

    /** How often an instance heartbeats and renews leadership. Default: the profile's (standard: 2s). */
    private @Nullable Duration syncInterval;

    /** Whether the instances elect a leader. */
    private boolean leaderElection = true;

    /** A leader's term without renewal; longer than sync-interval. Default: the profile's (standard: 10s). */
    private @Nullable Duration leaderTtl;

    /** How often the leader shares out global capacity. Default: the profile's (standard: 10s). */
    private @Nullable Duration rebalanceInterval;

    /** Membership without a heartbeat; longer than sync-interval. Default: three sync intervals. */
    private @Nullable Duration instanceTtl;

    /** Whether a missing or failing backend stops start-up instead of falling back to the no-op coordinator. */
    private boolean failFast;

    public boolean isEnabled() {
        return this.enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public String getCoordination() {
        return this.coordination;
    }

    public void setCoordination(String coordination) {
        this.coordination = coordination;
    }

    public String getNamespace() {
        return this.namespace;
    }

    public void setNamespace(String namespace) {
        this.namespace = namespace;
    }

    public @Nullable Duration getSyncInterval() {
        return this.syncInterval;
    }

    public void setSyncInterval(@Nullable Duration syncInterval) {
        this.syncInterval = syncInterval;
    }

    public boolean isLeaderElection() {
        return this.leaderElection;
    }

    public void setLeaderElection(boolean leaderElection) {
        this.leaderElection = leaderElection;
    }

    public @Nullable Duration getLeaderTtl() {
        return this.leaderTtl;
    }

    public void setLeaderTtl(@Nullable Duration leaderTtl) {
        this.leaderTtl = leaderTtl;
    }

    public @Nullable Duration getRebalanceInterval() {
        return this.rebalanceInterval;
    }

    public void setRebalanceInterval(@Nullable Duration rebalanceInterval) {
        this.rebalanceInterval = rebalanceInterval;
    }

    public @Nullable Duration getInstanceTtl() {
        return this.instanceTtl;
    }

    public void setInstanceTtl(@Nullable Duration instanceTtl) {
        this.instanceTtl = instanceTtl;
    }

    public boolean isFailFast() {
        return this.failFast;
    }

    public void setFailFast(boolean failFast) {
        this.failFast = failFast;
    }

    @Override
    public String toString() {
        return "DistributedProperties[enabled=" + this.enabled + ", coordination=" + this.coordination
                + ", namespace=" + this.namespace + ", sync-interval=" + this.syncInterval + ", leader-election="
                + this.leaderElection + ", leader-ttl=" + this.leaderTtl + ", rebalance-interval="
                + this.rebalanceInterval + ", instance-ttl=" + this.instanceTtl + ", fail-fast=" + this.failFast + "]";
    }
}
