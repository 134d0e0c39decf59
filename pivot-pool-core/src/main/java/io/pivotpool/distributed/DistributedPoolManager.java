package io.pivotpool.distributed;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.pool.Pool;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes part in the cluster for this instance: registers it, keeps its membership alive, seeks or
 * renews leadership and keeps a {@link #status() status} for the endpoint, all on one background
 * thread every {@code sync-interval}, never on a borrower's thread.
 *
 * <p>Failure handling: every coordinator call on the background thread is caught. A failed
 * synchronisation marks the instance disconnected and records the error; the next one simply
 * tries again, and because a heartbeat registers an expired instance anew, the instance rejoins
 * by itself once the backend answers again. Pools keep serving borrowers throughout with the
 * limits they had.
 *
 * <p>Pools registered with {@link #addPool(Pool, int)} are recorded with their global maximum and
 * shown in the status; sharing the global capacity among instances is not done yet.
 */
public final class DistributedPoolManager implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(DistributedPoolManager.class);

    private final ActiveCoordinator active;

    private final Coordinator coordinator;

    private final DistributedSettings settings;

    private final InstanceInfo self;

    private final LongSupplier nanoClock;

    /** How long after a successful renewal started this instance still calls itself leader. */
    private final long leadershipNanos;

    private final Map<String, RegisteredPool> pools = new ConcurrentHashMap<>();

    /** Serializes start and close; never held by the background thread. */
    private final ReentrantLock lifecycle = new ReentrantLock();

    private ScheduledExecutorService scheduler;

    private boolean started;

    private boolean closed;

    /** Written only by the synchronising thread (the starter's, then the scheduler's), read by anyone. */
    private volatile SyncState state;

    /** This instance's term and how long it may trust it; {@code null} when it does not lead. */
    private volatile HeldLease held;

    public DistributedPoolManager(ActiveCoordinator coordinator, DistributedSettings settings, InstanceInfo self) {
        this(coordinator, settings, self, System::nanoTime);
    }

    /** For tests: reads the monotonic time from {@code nanoClock}. */
    DistributedPoolManager(ActiveCoordinator coordinator, DistributedSettings settings, InstanceInfo self,
            LongSupplier nanoClock) {
        this.active = Objects.requireNonNull(coordinator, "coordinator must not be null");
        this.coordinator = coordinator.coordinator();
        this.settings = Objects.requireNonNull(settings, "settings must not be null");
        this.self = Objects.requireNonNull(self, "self must not be null");
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock must not be null");
        this.leadershipNanos = leadershipNanos(settings);
        this.state = SyncState.INITIAL;
    }

    /**
     * Describes this process as a new instance: a random id prefixed with the host name, so that
     * two instances on one host, or a restarted one, never share an id.
     */
    public static InstanceInfo localInstance(Map<String, String> metadata) {
        String host = hostName();
        String id = host + "-" + UUID.randomUUID().toString().substring(0, 8);
        return new InstanceInfo(id, host, System.currentTimeMillis(), metadata);
    }

    /**
     * The step-down margin. A renewal counts from the moment it was sent, which is no later than
     * the moment the backend extended the lease, so the local deadline never outlives the real
     * one. Stepping down one sync interval before the lease ends leaves a whole tick for a slow
     * renewal to land and still guarantees this instance stops acting as leader before another
     * one can be elected. When leader-ttl is shorter than two sync intervals the margin shrinks to
     * half the slack, so that a healthy leader stays leader from one renewal to the next.
     */
    private static long leadershipNanos(DistributedSettings settings) {
        long ttl = settings.leaderTtl().toNanos();
        long sync = settings.syncInterval().toNanos();
        long margin = Math.min(sync, (ttl - sync) / 2);
        return ttl - margin;
    }

    /**
     * Registers this instance and runs the first synchronisation on the calling thread (so the
     * status is populated when this returns; a failure is recorded, not thrown), then repeats it
     * every sync-interval on a daemon thread. Calling it again does nothing.
     *
     * @throws IllegalStateException if the manager was closed
     */
    public void start() {
        this.lifecycle.lock();
        try {
            if (this.closed) {
                throw new IllegalStateException("DistributedPoolManager of " + this.self.id() + " is closed");
            }
            if (this.started) {
                return;
            }
            this.started = true;
            synchronize(true);
            ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, runnable -> {
                Thread thread = new Thread(runnable, "pivot-pool-coordination");
                thread.setDaemon(true);
                return thread;
            });
            executor.setRemoveOnCancelPolicy(true);
            long interval = this.settings.syncInterval().toNanos();
            executor.scheduleWithFixedDelay(() -> synchronize(false), interval, interval, TimeUnit.NANOSECONDS);
            this.scheduler = executor;
        }
        finally {
            this.lifecycle.unlock();
        }
    }

    /**
     * Stops synchronising, gives up leadership and unregisters this instance; failures are logged.
     * Does not close the coordinator (its owner does). Idempotent.
     */
    @Override
    public void close() {
        this.lifecycle.lock();
        try {
            if (this.closed) {
                return;
            }
            this.closed = true;
            if (!this.started) {
                return;
            }
            stopScheduler();
            HeldLease lease = this.held;
            this.held = null;
            if (lease != null) {
                try {
                    this.coordinator.releaseLeadership(this.self.id(), lease.lease().fencingToken());
                    logger.info("Instance {} gave up leadership (term {})", this.self.id(),
                            lease.lease().fencingToken());
                }
                catch (RuntimeException ex) {
                    logger.warn("Instance {} could not give up leadership (term {}); it lapses after leader-ttl: {}",
                            this.self.id(), lease.lease().fencingToken(), describe(ex));
                }
            }
            try {
                this.coordinator.unregister(this.self.id());
            }
            catch (RuntimeException ex) {
                logger.warn("Instance {} could not unregister; it lapses after instance-ttl: {}", this.self.id(),
                        describe(ex));
            }
        }
        finally {
            this.lifecycle.unlock();
        }
    }

    private void stopScheduler() {
        ScheduledExecutorService executor = this.scheduler;
        executor.shutdown();
        try {
            // A synchronisation in flight finishes within the backend's operation timeout; past a
            // sync interval (at most 5 s) it is interrupted rather than holding up shutdown.
            long waitMillis = Math.min(this.settings.syncInterval().toMillis(), 5000);
            if (!executor.awaitTermination(waitMillis, TimeUnit.MILLISECONDS)) {
                executor.shutdownNow();
                executor.awaitTermination(waitMillis, TimeUnit.MILLISECONDS);
            }
        }
        catch (InterruptedException ex) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    /** This instance's id. */
    public String instanceId() {
        return this.self.id();
    }

    /** This instance as registered. */
    public InstanceInfo instance() {
        return this.self;
    }

    /** The coordinator in use, for applications that also use its queues or shared state. */
    public Coordinator coordinator() {
        return this.coordinator;
    }

    /**
     * Records a pool and its cluster-wide maximum size.
     *
     * @throws IllegalArgumentException if {@code globalMaxSize} is not positive or another pool of
     *     the same name is registered
     */
    public void addPool(Pool<?> pool, int globalMaxSize) {
        Objects.requireNonNull(pool, "pool must not be null");
        if (globalMaxSize < 1) {
            throw new IllegalArgumentException("global-max-size of pool '" + pool.name() + "' must be at least 1, was "
                    + globalMaxSize);
        }
        RegisteredPool registered = new RegisteredPool(pool, globalMaxSize);
        RegisteredPool previous = this.pools.putIfAbsent(pool.name(), registered);
        if (previous != null && previous.pool() != pool) {
            throw new IllegalArgumentException("Another pool named '" + pool.name() + "' is already registered");
        }
        if (previous != null) {
            this.pools.put(pool.name(), registered);
        }
    }

    /** Whether this instance leads now: it holds a term whose renewal is recent enough to trust. */
    public boolean isLeader() {
        return isTrusted(this.held);
    }

    private boolean isTrusted(HeldLease lease) {
        return lease != null && this.nanoClock.getAsLong() - lease.trustedUntil() < 0;
    }

    /** A snapshot of this instance's coordination. */
    public CoordinationStatus status() {
        SyncState current = this.state;
        boolean leader = isLeader();
        LeaderLease seen = current.leader();
        Map<String, Integer> poolSizes = new HashMap<>();
        this.pools.forEach((name, registered) -> poolSizes.put(name, registered.globalMaxSize()));
        return new CoordinationStatus(this.self.id(), this.active.requestedBackend(), this.active.activeBackend(),
                current.connected(), this.active.fallbackReason(), (seen != null) ? seen.holderId() : null, leader,
                (seen != null) ? seen.fencingToken() : 0, current.members(), current.lastSync(), current.lastError(),
                poolSizes);
    }

    // ---- the background synchronisation ----------------------------------------------------

    /**
     * One round: heartbeat (or register, the first time), read the members, seek or renew
     * leadership, read the leader. It stops at the first failure, since the backend is then
     * most likely unreachable and each further call would only wait for its own timeout.
     * Leadership survives a failed round only until its local deadline: {@link #isLeader()}
     * compares the clock with it on every read, so a leader steps down in time even while this
     * thread is stuck in a call.
     */
    private void synchronize(boolean first) {
        SyncState before = this.state;
        boolean wasLeader = isLeader();
        try {
            if (first) {
                this.coordinator.register(this.self, this.settings.instanceTtl());
            }
            else {
                this.coordinator.heartbeat(this.self, this.settings.instanceTtl());
            }
            List<InstanceInfo> members = this.coordinator.liveInstances();
            LeaderLease leader = null;
            if (this.settings.leaderElection()) {
                leader = seekLeadership();
            }
            if (leader == null) {
                leader = this.coordinator.currentLeader().orElse(null);
            }
            this.state = new SyncState(true, members, leader, Instant.now(), null);
            if (!before.connected() && before.lastError() != null) {
                logger.info("Instance {} is coordinating through '{}' again", this.self.id(),
                        this.active.activeBackend());
            }
        }
        catch (Throwable ex) {
            if (ex instanceof VirtualMachineError error) {
                throw error;
            }
            String error = describe(ex);
            this.state = new SyncState(false, before.members(), before.leader(), before.lastSync(), error);
            if (before.lastError() == null) {
                logger.warn("Instance {} could not synchronise with coordinator '{}', retrying every {}: {}",
                        this.self.id(), this.active.activeBackend(), this.settings.syncInterval(), error);
            }
            else {
                logger.debug("Instance {} still cannot synchronise: {}", this.self.id(), error);
            }
        }
        logLeadershipChange(wasLeader);
    }

    /** Asks for (or renews) the lease; returns it if this instance leads, or null. */
    private LeaderLease seekLeadership() {
        long sentAt = this.nanoClock.getAsLong();
        Optional<LeaderLease> granted = this.coordinator.tryAcquireLeadership(this.self.id(),
                this.settings.leaderTtl());
        if (granted.isPresent() && this.self.id().equals(granted.get().holderId())) {
            this.held = new HeldLease(granted.get(), sentAt + this.leadershipNanos);
            return granted.get();
        }
        this.held = null;
        return null;
    }

    private void logLeadershipChange(boolean wasLeader) {
        HeldLease lease = this.held;
        boolean leader = isTrusted(lease);
        if (leader && !wasLeader) {
            logger.info("Instance {} leads (term {})", this.self.id(), lease.lease().fencingToken());
        }
        else if (!leader && wasLeader) {
            logger.info("Instance {} no longer leads", this.self.id());
        }
    }

    private static String describe(Throwable ex) {
        String message = ex.getMessage();
        return (message == null || message.isBlank()) ? ex.getClass().getSimpleName()
                : message + " (" + ex.getClass().getSimpleName() + ")";
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        }
        catch (UnknownHostException | SecurityException ex) {
            String fromEnvironment = System.getenv("HOSTNAME");
            return (fromEnvironment != null && !fromEnvironment.isBlank()) ? fromEnvironment : "localhost";
        }
    }

    @Override
    public String toString() {
        return "DistributedPoolManager[" + this.self.id() + " on " + this.active.activeBackend() + "]";
    }

    private record RegisteredPool(Pool<?> pool, int globalMaxSize) {
    }

    private record HeldLease(LeaderLease lease, long trustedUntil) {
    }

    private record SyncState(boolean connected, List<InstanceInfo> members, LeaderLease leader, Instant lastSync,
            String lastError) {

        static final SyncState INITIAL = new SyncState(false, List.of(), null, null, null);
    }
}
