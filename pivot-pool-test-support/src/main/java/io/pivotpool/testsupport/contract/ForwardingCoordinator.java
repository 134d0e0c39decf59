package io.pivotpool.testsupport.contract;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.pivotpool.coordinator.CapacityGrant;
import io.pivotpool.coordinator.CapacityView;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.LeaderLease;
import org.jspecify.annotations.Nullable;

/**
 * A coordinator that forwards every call to a working one; test doubles extend it and override
 * only what they script. Every call but the lifecycle ones passes through {@link #before(String)}.
 */
public class ForwardingCoordinator implements Coordinator {

    private final Coordinator delegate;

    public ForwardingCoordinator(Coordinator delegate) {
        this.delegate = delegate;
    }

    /** Called before each forwarded operation; a double throws here to fail it. */
    protected void before(String operation) {
    }

    @Override
    public String name() {
        return this.delegate.name();
    }

    @Override
    public void connect() {
        this.delegate.connect();
    }

    @Override
    public boolean isConnected() {
        return this.delegate.isConnected();
    }

    @Override
    public Map<String, String> details() {
        return this.delegate.details();
    }

    @Override
    public long capacityConflicts() {
        return this.delegate.capacityConflicts();
    }

    @Override
    public void close() {
        this.delegate.close();
    }

    @Override
    public void register(InstanceInfo instance, Duration ttl) {
        before("register");
        this.delegate.register(instance, ttl);
    }

    @Override
    public void heartbeat(InstanceInfo instance, Duration ttl) {
        before("heartbeat");
        this.delegate.heartbeat(instance, ttl);
    }

    @Override
    public void unregister(String instanceId) {
        before("unregister");
        this.delegate.unregister(instanceId);
    }

    @Override
    public List<InstanceInfo> liveInstances() {
        before("liveInstances");
        return this.delegate.liveInstances();
    }

    @Override
    public Optional<LeaderLease> tryAcquireLeadership(String instanceId, Duration ttl) {
        before("tryAcquireLeadership");
        return this.delegate.tryAcquireLeadership(instanceId, ttl);
    }

    @Override
    public boolean releaseLeadership(String instanceId, long fencingToken) {
        before("releaseLeadership");
        return this.delegate.releaseLeadership(instanceId, fencingToken);
    }

    @Override
    public Optional<LeaderLease> currentLeader() {
        before("currentLeader");
        return this.delegate.currentLeader();
    }

    @Override
    public void push(String queue, byte[] message) {
        before("push");
        this.delegate.push(queue, message);
    }

    @Override
    public Optional<byte[]> pop(String queue) {
        before("pop");
        return this.delegate.pop(queue);
    }

    @Override
    public Optional<byte[]> pop(String queue, Duration timeout) {
        before("pop");
        return this.delegate.pop(queue, timeout);
    }

    @Override
    public void set(String key, byte[] value, @Nullable Duration ttl) {
        before("set");
        this.delegate.set(key, value, ttl);
    }

    @Override
    public Optional<byte[]> get(String key) {
        before("get");
        return this.delegate.get(key);
    }

    @Override
    public boolean delete(String key) {
        before("delete");
        return this.delegate.delete(key);
    }

    @Override
    public boolean compareAndSet(String key, byte @Nullable [] expected, byte @Nullable [] newValue,
            @Nullable Duration ttl) {
        before("compareAndSet");
        return this.delegate.compareAndSet(key, expected, newValue, ttl);
    }

    @Override
    public CapacityGrant requestCapacity(String pool, String instanceId, int requested, int globalMaxSize,
            Duration ttl) {
        before("requestCapacity");
        return this.delegate.requestCapacity(pool, instanceId, requested, globalMaxSize, ttl);
    }

    @Override
    public void releaseCapacity(String pool, String instanceId) {
        before("releaseCapacity");
        this.delegate.releaseCapacity(pool, instanceId);
    }

    @Override
    public boolean releaseCapacityOfNonMember(String pool, String holder) {
        before("releaseCapacityOfNonMember");
        return this.delegate.releaseCapacityOfNonMember(pool, holder);
    }

    @Override
    public int growGrants(String pool, int globalMaxSize, Map<String, Integer> targets) {
        before("growGrants");
        return this.delegate.growGrants(pool, globalMaxSize, targets);
    }

    @Override
    public CapacityView capacity(String pool) {
        before("capacity");
        return this.delegate.capacity(pool);
    }
}
