package io.pivotpool.distributed.internal;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

import io.pivotpool.coordinator.CapacityGrant;
import io.pivotpool.coordinator.CapacityView;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorObserver;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.coordinator.SyncRound;

import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Coordinator} that reports the duration and outcome of every call of its delegate to a
 * {@link CoordinatorObserver}. This decorator is the one way coordination is measured: wrap the
 * active coordinator once ({@link ActiveCoordinator#observedBy}), before anything (the distributed
 * pool manager, application code using queues or state) calls it, and every call is timed alike.
 *
 * <p>{@link #name()} and {@link #isConnected()} are local reads and are not reported;
 * {@link #close()} is not reported either. Every other method is reported under its own name.
 *
 * @apiNote Internal: public only because Pivot Pool's own modules (the benchmarks' probes count
 *     calls with it) use it from other packages. It is not an API and may change in any release;
 *     applications observe coordination with {@link CoordinatorObserver} beans.
 */
public final class ObservedCoordinator implements Coordinator {

    private static final Logger logger = LoggerFactory.getLogger(ObservedCoordinator.class);

    private final Coordinator delegate;

    private final CoordinatorObserver observer;

    /** Whether the delegate overrides {@link Coordinator#round}: see {@link #round}. */
    private final boolean roundInOneCall;

    public ObservedCoordinator(Coordinator delegate, CoordinatorObserver observer) {
        this.delegate = Objects.requireNonNull(delegate, "delegate must not be null");
        this.observer = Objects.requireNonNull(observer, "observer must not be null");
        this.roundInOneCall = (delegate instanceof ObservedCoordinator observed) ? observed.roundInOneCall
                : overridesRound(delegate);
    }

    /** The coordinator whose calls are observed. */
    public Coordinator delegate() {
        return this.delegate;
    }

    @Override
    public String name() {
        return this.delegate.name();
    }

    @Override
    public void connect() {
        run("connect", this.delegate::connect);
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
        run("register", () -> this.delegate.register(instance, ttl));
    }

    @Override
    public void heartbeat(InstanceInfo instance, Duration ttl) {
        run("heartbeat", () -> this.delegate.heartbeat(instance, ttl));
    }

    @Override
    public void unregister(String instanceId) {
        run("unregister", () -> this.delegate.unregister(instanceId));
    }

    @Override
    public List<InstanceInfo> liveInstances() {
        return call("liveInstances", this.delegate::liveInstances);
    }

    @Override
    public int liveInstanceCount() {
        return call("liveInstanceCount", this.delegate::liveInstanceCount);
    }

    @Override
    public Optional<LeaderLease> tryAcquireLeadership(String instanceId, Duration ttl) {
        return call("tryAcquireLeadership", () -> this.delegate.tryAcquireLeadership(instanceId, ttl));
    }

    @Override
    public Optional<LeaderLease> seekLeadership(String instanceId, Duration ttl) {
        return call("seekLeadership", () -> this.delegate.seekLeadership(instanceId, ttl));
    }

    @Override
    public boolean releaseLeadership(String instanceId, long fencingToken) {
        return call("releaseLeadership", () -> this.delegate.releaseLeadership(instanceId, fencingToken));
    }

    @Override
    public Optional<LeaderLease> currentLeader() {
        return call("currentLeader", this.delegate::currentLeader);
    }

    @Override
    public void push(String queue, byte[] message) {
        run("push", () -> this.delegate.push(queue, message));
    }

    @Override
    public Optional<byte[]> pop(String queue) {
        return call("pop", () -> this.delegate.pop(queue));
    }

    @Override
    public Optional<byte[]> pop(String queue, Duration timeout) {
        return call("pop", () -> this.delegate.pop(queue, timeout));
    }

    @Override
    public void set(String key, byte[] value, @Nullable Duration ttl) {
        run("set", () -> this.delegate.set(key, value, ttl));
    }

    @Override
    public Optional<byte[]> get(String key) {
        return call("get", () -> this.delegate.get(key));
    }

    @Override
    public Map<String, byte[]> getAll(Collection<String> keys) {
        return call("getAll", () -> this.delegate.getAll(keys));
    }

    @Override
    public Map<String, byte[]> getAll(Collection<String> keys, int maxValueBytes) {
        return call("getAll", () -> this.delegate.getAll(keys, maxValueBytes));
    }

    @Override
    public void setAll(Map<String, byte[]> values, Duration ttl) {
        run("setAll", () -> this.delegate.setAll(values, ttl));
    }

    @Override
    public boolean delete(String key) {
        return call("delete", () -> this.delegate.delete(key));
    }

    @Override
    public boolean compareAndSet(String key, byte @Nullable [] expected, byte @Nullable [] newValue,
            @Nullable Duration ttl) {
        return call("compareAndSet", () -> this.delegate.compareAndSet(key, expected, newValue, ttl));
    }

    @Override
    public CapacityGrant requestCapacity(String pool, String instanceId, int requested, int globalMaxSize,
            Duration ttl) {
        return call("requestCapacity",
                () -> this.delegate.requestCapacity(pool, instanceId, requested, globalMaxSize, ttl));
    }

    @Override
    public void releaseCapacity(String pool, String instanceId) {
        run("releaseCapacity", () -> this.delegate.releaseCapacity(pool, instanceId));
    }

    @Override
    public boolean releaseCapacityOfNonMember(String pool, String holder) {
        return call("releaseCapacityOfNonMember", () -> this.delegate.releaseCapacityOfNonMember(pool, holder));
    }

    @Override
    public int growGrants(String pool, int globalMaxSize, Map<String, Integer> targets) {
        return call("growGrants", () -> this.delegate.growGrants(pool, globalMaxSize, targets));
    }

    @Override
    public CapacityView capacity(String pool) {
        return call("capacity", () -> this.delegate.capacity(pool));
    }

    /**
     * Reported as one operation, {@code round}, when the delegate does the round in one call of its
     * own; when it relies on the default (separate calls), each of those calls is reported under its
     * own name, as if made one by one, so that the meters count the calls the backend really sees.
     */
    @Override
    public SyncRound.Reply round(SyncRound round) {
        if (!this.roundInOneCall) {
            return Coordinator.super.round(round);
        }
        return call("round", () -> this.delegate.round(round));
    }

    private static boolean overridesRound(Coordinator coordinator) {
        try {
            return coordinator.getClass().getMethod("round", SyncRound.class).getDeclaringClass() != Coordinator.class;
        }
        catch (NoSuchMethodException ex) {
            return false;
        }
    }

    @Override
    public String toString() {
        return "ObservedCoordinator[" + this.delegate + "]";
    }

    private void run(String operation, Runnable call) {
        call(operation, () -> {
            call.run();
            return null;
        });
    }

    private <T> T call(String operation, Supplier<T> call) {
        CoordinatorObserver.Call observed = start(operation);
        long start = System.nanoTime();
        Throwable error = null;
        boolean success = false;
        try {
            T result = call.get();
            success = true;
            return result;
        }
        catch (Throwable ex) {
            error = ex;
            throw ex;
        }
        finally {
            long nanos = System.nanoTime() - start;
            finish(observed, operation, success ? null : error);
            report(operation, nanos, success);
        }
    }

    /**
     * An observer's hook never changes the call's outcome: whatever it throws (a linkage error of a
     * mismatched library included) is logged and ignored; only the JVM's own failures pass.
     */
    private CoordinatorObserver.Call start(String operation) {
        try {
            CoordinatorObserver.Call observed = this.observer.started(operation, this.delegate.name());
            return (observed != null) ? observed : CoordinatorObserver.Call.NOTHING;
        }
        catch (VirtualMachineError ex) {
            throw ex;
        }
        catch (Throwable ex) {
            logger.debug("Coordinator observer failed on the start of {}; ignored", operation, ex);
            return CoordinatorObserver.Call.NOTHING;
        }
    }

    private static void finish(CoordinatorObserver.Call observed, String operation, @Nullable Throwable error) {
        try {
            observed.finished(error);
        }
        catch (VirtualMachineError ex) {
            throw ex;
        }
        catch (Throwable ex) {
            logger.debug("Coordinator observer failed on the end of {}; ignored", operation, ex);
        }
    }

    private void report(String operation, long nanos, boolean success) {
        try {
            this.observer.onOperation(operation, this.delegate.name(), nanos, success);
        }
        catch (VirtualMachineError ex) {
            throw ex;
        }
        catch (Throwable ex) {
            logger.debug("Coordinator observer failed on {}; ignored", operation, ex);
        }
    }
}
