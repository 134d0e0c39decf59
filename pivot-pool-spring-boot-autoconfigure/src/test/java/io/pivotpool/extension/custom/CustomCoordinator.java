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
 * A third-party coordinator as an extension author would write it (step 1 of PivotPHP's recipe):
 * this one keeps its state in memory through the no-op coordinator, answers to the name
 * {@code custom}, and can be told to refuse connections or to lose its server later, as an
 * unreachable server would.
 */
public class CustomCoordinator implements Coordinator {

    private final NoOpCoordinator state = new NoOpCoordinator();

    private final String namespace;

    private final boolean refuseConnections;

    private final AtomicBoolean connected = new AtomicBoolean();

    private final AtomicBoolean closed = new AtomicBoolean();

    private volatile boolean severed;

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

    /** From now on every call fails as if the server had gone away. */
    public void sever() {
        this.severed = true;
        this.connected.set(false);
    }

    private void reachable() {
        if (this.severed) {
            throw new CoordinatorException("custom backend at custom.example:7000 is unreachable");
        }
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
        reachable();
        this.state.register(instance, ttl);
    }

    @Override
    public void heartbeat(InstanceInfo instance, Duration ttl) {
        reachable();
        this.state.heartbeat(instance, ttl);
    }

    @Override
    public void unregister(String instanceId) {
        reachable();
        this.state.unregister(instanceId);
    }

    @Override
    public List<InstanceInfo> liveInstances() {
        reachable();
        return this.state.liveInstances();
    }

    @Override
    public Optional<LeaderLease> tryAcquireLeadership(String instanceId, Duration ttl) {
        reachable();
        return this.state.tryAcquireLeadership(instanceId, ttl);
    }

    @Override
    public boolean releaseLeadership(String instanceId, long fencingToken) {
        reachable();
        return this.state.releaseLeadership(instanceId, fencingToken);
    }

    @Override
    public Optional<LeaderLease> currentLeader() {
        reachable();
        return this.state.currentLeader();
    }

    @Override
    public void push(String queue, byte[] message) {
        reachable();
        this.state.push(queue, message);
    }

    @Override
    public Optional<byte[]> pop(String queue) {
        reachable();
        return this.state.pop(queue);
    }

    @Override
    public Optional<byte[]> pop(String queue, Duration timeout) {
        reachable();
        return this.state.pop(queue, timeout);
    }

    @Override
    public void set(String key, byte[] value, Duration ttl) {
        reachable();
        this.state.set(key, value, ttl);
    }

    @Override
    public Optional<byte[]> get(String key) {
        reachable();
        return this.state.get(key);
    }

    @Override
    public boolean delete(String key) {
        reachable();
        return this.state.delete(key);
    }

    @Override
    public boolean compareAndSet(String key, byte[] expected, byte[] newValue, Duration ttl) {
        reachable();
        return this.state.compareAndSet(key, expected, newValue, ttl);
    }

    @Override
    public CapacityGrant requestCapacity(String pool, String instanceId, int requested, int globalMaxSize,
            Duration ttl) {
        reachable();
        return this.state.requestCapacity(pool, instanceId, requested, globalMaxSize, ttl);
    }

    @Override
    public void releaseCapacity(String pool, String instanceId) {
        reachable();
        this.state.releaseCapacity(pool, instanceId);
    }

    @Override
    public CapacityView capacity(String pool) {
        reachable();
        return this.state.capacity(pool);
    }
}
