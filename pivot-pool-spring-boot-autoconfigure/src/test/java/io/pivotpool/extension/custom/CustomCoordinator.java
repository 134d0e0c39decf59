package io.pivotpool.extension.custom;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

import io.pivotpool.coordinator.CapacityGrant;
import io.pivotpool.coordinator.CapacityView;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.coordinator.NoOpCoordinator;

/**
 * A third-party coordinator as an extension author would write it (step 1 of the seed's recipe):
 * this one keeps its state in memory through the no-op coordinator, answers to the name
 * {@code custom}, and can be told to refuse connections, as an unreachable server would.
 */
public class CustomCoordinator implements Coordinator {

    private final NoOpCoordinator state = new NoOpCoordinator();

    private final String namespace;

    private final boolean refuseConnections;

    private final AtomicBoolean connected = new AtomicBoolean();

    private final AtomicBoolean closed = new AtomicBoolean();

    public CustomCoordinator(String namespace, boolean refuseConnections) {
        this.namespace = namespace;
        this.refuseConnections = refuseConnections;
    }

    public String namespace() {
        return this.namespace;
    }

    public boolean isClosed() {
        return this.closed.get();
    }

    @Override
    public String name() {
        return "custom";
    }

    @Override
    public void connect() {
        if (this.refuseConnections) {
            throw new CoordinatorException("custom backend at custom.example:7000 refused the connection");
        }
        this.state.connect();
        this.connected.set(true);
    }

    @Override
    public boolean isConnected() {
        return this.connected.get();
    }

    @Override
    public void close() {
        this.closed.set(true);
        this.connected.set(false);
        this.state.close();
    }

    @Override
    public void register(InstanceInfo instance, Duration ttl) {
        this.state.register(instance, ttl);
    }

    @Override
    public void heartbeat(InstanceInfo instance, Duration ttl) {
        this.state.heartbeat(instance, ttl);
    }

    @Override
    public void unregister(String instanceId) {
        this.state.unregister(instanceId);
    }

    @Override
    public List<InstanceInfo> liveInstances() {
        return this.state.liveInstances();
    }

    @Override
    public Optional<LeaderLease> tryAcquireLeadership(String instanceId, Duration ttl) {
        return this.state.tryAcquireLeadership(instanceId, ttl);
    }

    @Override
    public boolean releaseLeadership(String instanceId, long fencingToken) {
        return this.state.releaseLeadership(instanceId, fencingToken);
    }

    @Override
    public Optional<LeaderLease> currentLeader() {
        return this.state.currentLeader();
    }

    @Override
    public void push(String queue, byte[] message) {
        this.state.push(queue, message);
    }

    @Override
    public Optional<byte[]> pop(String queue) {
        return this.state.pop(queue);
    }

    @Override
    public Optional<byte[]> pop(String queue, Duration timeout) {
        return this.state.pop(queue, timeout);
    }

    @Override
    public void set(String key, byte[] value, Duration ttl) {
        this.state.set(key, value, ttl);
    }

    @Override
    public Optional<byte[]> get(String key) {
        return this.state.get(key);
    }

    @Override
    public boolean delete(String key) {
        return this.state.delete(key);
    }

    @Override
    public boolean compareAndSet(String key, byte[] expected, byte[] newValue, Duration ttl) {
        return this.state.compareAndSet(key, expected, newValue, ttl);
    }

    @Override
    public CapacityGrant requestCapacity(String pool, String instanceId, int requested, int globalMaxSize,
            Duration ttl) {
        return this.state.requestCapacity(pool, instanceId, requested, globalMaxSize, ttl);
    }

    @Override
    public void releaseCapacity(String pool, String instanceId) {
        this.state.releaseCapacity(pool, instanceId);
    }

    @Override
    public CapacityView capacity(String pool) {
        return this.state.capacity(pool);
    }
}
