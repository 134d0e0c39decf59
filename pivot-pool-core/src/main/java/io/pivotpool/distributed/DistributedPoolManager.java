package io.pivotpool.distributed;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

import io.pivotpool.coordinator.CapacityGrant;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.coordinator.NoOpCoordinator;
import io.pivotpool.coordinator.SyncRound;
import io.pivotpool.coordinator.support.RemoteText;
import io.pivotpool.distributed.internal.ActiveCoordinator;
import io.pivotpool.distributed.internal.CoordinatorSelection;
import io.pivotpool.distributed.internal.Managers;
import io.pivotpool.pool.Overflow;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolSettings;
import io.pivotpool.pool.PoolSpec;

import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes part in the cluster for this instance: registers it, keeps its membership alive, seeks or
 * renews leadership, shares the pools' cluster-wide caps and keeps a {@link #status() status} for
 * the endpoint, all on one background thread every {@code sync-interval}, never on a borrower's
 * thread. A second background thread watches the deadlines (leadership and grants), so that a
 * round stuck in a slow call cannot make this instance trust a lease for longer than it may.
 *
 * <p>Cluster-wide caps ({@link #addPool(Pool, GlobalCapacity)}): every instance holds a grant per
 * capped pool, recorded atomically by the coordinator so that the grants never sum above the cap,
 * and the pool's size limit follows the grant ({@link CapacityShare} has the rules and their
 * order). Each round every instance reports its demand; the leader computes targets
 * ({@link CapacityPlanner}) every {@code rebalance-interval}, at once when the membership changes
 * and when its term begins, and writes each follower's target under its fencing token. A target of
 * an older term is ignored.
 *
 * <p>Cost as the cluster grows: a follower's round is a fixed number of calls and bytes whatever
 * the cluster's size, one call where the backend can do the round in one ({@link Coordinator#round}:
 * it reads only its own targets, rewrites its demand reports only when they change or half their
 * TTL has passed, and never lists the members: its status counts them, once a round and only if
 * somebody read the status since). The leader's round is a fixed number of round trips too: the
 * same one call for its heartbeat, lease and own grants (and a request of its own for a pool
 * whose own target its rebalance just lowered), one listing of the members (which Redis and etcd
 * answer from their last one while the membership stays the same), one batched read of every
 * demand report and, when it rebalances, one batched write of the targets that changed
 * ({@link Coordinator#getAll}, {@link Coordinator#setAll}); only its bytes grow with the cluster.
 *
 * <p>Failure handling: every coordinator call on the background thread is caught. A failed
 * synchronisation marks the instance disconnected and records the error; the next one simply
 * tries again, and because a heartbeat registers an expired instance anew, the instance rejoins
 * by itself once the backend answers again. Pools keep serving borrowers throughout; a capped
 * pool whose grant could not be renewed in time runs on its partition size until the coordinator
 * answers.
 */
public final class DistributedPoolManager implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(DistributedPoolManager.class);

    /** Rebalances in a row with a cap out of the members' reach before it is reported. */
    private static final int CAP_OUT_OF_REACH_REBALANCES = 3;

    /** How many instance-ttls a demand report lives ({@link #reportDemands}). */
    private static final int DEMAND_TTLS = 4;

    private final ActiveCoordinator active;

    private final Coordinator coordinator;

    private final DistributedSettings settings;

    private final InstanceInfo self;

    /** Only on the synchronisation thread: the foreign applications last warned about ({@link #warnIfShared}). */
    private List<String> foreignWarned = List.of();

    private final LongSupplier nanoClock;

    /** Only for the status's lastSync, which people read; every deadline uses {@link #nanoClock}. */
    private final Clock wallClock;

    private final BackgroundThreads threads;

    /** How long after a successful renewal started this instance still calls itself leader. */
    private final long leadershipNanos;

    /** How long after a capacity request was sent this instance still trusts the grant. */
    private final long grantTrustNanos;

    /** How long an instance only renews after the backend forgot its grant (see {@link CapacityShare#granted}). */
    private final long growthHoldNanos;

    /**
     * Whether a grant can lapse into another instance's hands: not on the no-op coordinator, whose
     * grants live in this process, so that a starved background thread never shrinks a pool that
     * has the whole cap to itself.
     */
    private final boolean grantsCanLapse;

    private final Map<String, CapacityShare> shares = new ConcurrentHashMap<>();

    /** The term this instance holds, how long it trusts it, and the listeners. */
    private final Leadership leadership;

    /** Serializes start and close; never held by the background threads. */
    private final ReentrantLock lifecycle = new ReentrantLock();

    private final AtomicLong rebalances = new AtomicLong();

    private BackgroundThreads.@Nullable Repeating rounds;

    private BackgroundThreads.@Nullable Repeating deadlines;

    private boolean started;

    private boolean closed;

    /** Written only by the synchronising thread (the starter's, then the scheduler's), read by anyone. */
    private volatile SyncState state;

    /** Set when somebody read the status, so that a follower counts the members in its next round. */
    private volatile boolean memberCountWanted;

    // ---- the synchronising thread's own ----

    /**
     * Whether the coordinator still has to be connected: it could not be at start-up, and the
     * selection kept it rather than run this instance alone for life. Each round tries its
     * {@link Coordinator#connect()} (with the checks a backend makes there) until one succeeds.
     */
    private boolean connectPending;

    private @Nullable Rebalance lastRebalance;

    /**
     * By pool: the targets of the last rebalance whose grants the coordinator still has to raise
     * ({@link Coordinator#growGrants}), until it has or the next rebalance replaces them.
     */
    private final Map<String, Growth> growths = new LinkedHashMap<>();

    /** The targets this instance wrote as leader, by key, so that an unchanged one is not rewritten at every rebalance. */
    private final Map<String, WrittenTarget> writtenTargets = new HashMap<>();

    /** The demand reports this instance wrote as a follower, by pool, so that an unchanged one is not rewritten. */
    private final Map<String, WrittenDemand> writtenDemands = new HashMap<>();

    private final Map<String, Long> warnedAt = new HashMap<>();

    /** By pool: a cap its members cannot reach, see {@link #warnIfCapUnreachable}. */
    private final Map<String, CapOutOfReach> capOutOfReach = new HashMap<>();

    /** The grants of holders that are not members, as this instance follows them while it leads. */
    private final NonMemberGrants nonMemberGrants;

    /**
     * When this instance's registration was last renewed (sent), and whether it ever was: a grant
     * is asked for only within half an instance-ttl of a renewal ({@link #registerBeforeRequest}).
     * Written by the synchronising thread and by the threads that add pools.
     */
    private volatile long registeredAtNanos;

    private volatile boolean registered;

    static {
        // Pivot Pool's own modules build managers over a selection's whole outcome through
        // Managers, without this constructor being public (see Managers).
        Managers.install(DistributedPoolManager::new);
    }

    /**
     * Creates a manager over a coordinator the caller made, and connects it as the
     * auto-configuration connects a {@code Coordinator} bean: one that cannot connect is kept,
     * with one warning, and this instance's rounds connect it once it answers (until then the
     * instance is cut off); with {@code fail-fast} the constructor closes it and throws instead.
     * The status names the coordinator's own {@link Coordinator#name() name} as the requested
     * backend. {@link #start()} begins the synchronisation; {@link #close()} does not close the
     * coordinator, its owner does, after the manager.
     *
     * <p>Most applications need not build one: the auto-configuration provides the manager as a
     * bean, and {@code HighPerformanceMode} makes one without Spring.
     *
     * @throws CoordinatorException if the coordinator cannot connect and {@code fail-fast} is on
     */
    public DistributedPoolManager(Coordinator coordinator, DistributedSettings settings, InstanceInfo self) {
        this(CoordinatorSelection.use(coordinator, settings), settings, self);
    }

    /**
     * Over a selected coordinator (connected, or connected by its rounds once it answers), whose
     * outcome the status reports; Pivot Pool's own modules reach it through {@link Managers}.
     */
    DistributedPoolManager(ActiveCoordinator coordinator, DistributedSettings settings, InstanceInfo self) {
        this(coordinator, settings, self, System::nanoTime);
    }

    /** For tests: reads the monotonic time from {@code nanoClock}. */
    DistributedPoolManager(ActiveCoordinator coordinator, DistributedSettings settings, InstanceInfo self,
            LongSupplier nanoClock) {
        this(coordinator, settings, self, nanoClock, Clock.systemUTC(), BackgroundThreads.DAEMON);
    }

    /**
     * For the simulation: the same protocol on a simulated monotonic clock, wall clock and
     * threads, so that many managers run deterministically in one thread.
     */
    DistributedPoolManager(ActiveCoordinator coordinator, DistributedSettings settings, InstanceInfo self,
            LongSupplier nanoClock, Clock wallClock, BackgroundThreads threads) {
        this.active = Objects.requireNonNull(coordinator, "coordinator must not be null");
        this.coordinator = coordinator.coordinator();
        this.settings = Objects.requireNonNull(settings, "settings must not be null");
        this.self = Objects.requireNonNull(self, "self must not be null");
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock must not be null");
        this.wallClock = Objects.requireNonNull(wallClock, "wallClock must not be null");
        this.threads = Objects.requireNonNull(threads, "threads must not be null");
        this.leadershipNanos = trustNanos(settings.leaderTtl(), settings.syncInterval());
        this.grantTrustNanos = trustNanos(settings.instanceTtl(), settings.syncInterval());
        this.growthHoldNanos = settings.instanceTtl().toNanos();
        this.grantsCanLapse = !NoOpCoordinator.NAME.equals(coordinator.activeBackend());
        this.state = SyncState.INITIAL;
        this.connectPending = !this.coordinator.isConnected();
        this.nonMemberGrants = new NonMemberGrants(this.coordinator, settings);
        this.leadership = new Leadership(this.coordinator, self.id(), settings.leaderTtl(), nanoClock,
                this.leadershipNanos, () -> this.shares.values().forEach(CapacityShare::forgetDistribution));
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
     * How long a lease (leadership, or a capacity grant) is trusted after its renewal was sent. A
     * renewal counts from the moment it was sent, which is no later than the moment the backend
     * extended the lease, so the local deadline never outlives the real one. Stopping one sync
     * interval before the lease ends leaves a whole tick for a slow renewal to land and still
     * guarantees this instance stops relying on the lease before the backend can give it to
     * another one. When the TTL is shorter than two sync intervals the margin shrinks to half the
     * slack, so that a healthy instance keeps its lease from one renewal to the next.
     */
    private static long trustNanos(Duration ttl, Duration syncInterval) {
        long ttlNanos = ttl.toNanos();
        long sync = syncInterval.toNanos();
        long margin = Math.min(sync, (ttlNanos - sync) / 2);
        return ttlNanos - margin;
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
            long interval = this.settings.syncInterval().toNanos();
            this.rounds = this.threads.withFixedDelay("pivot-pool-coordination", interval, () -> synchronize(false));
            // Deadlines are watched every quarter of the smallest margin (which is at most a sync
            // interval), so that a lease is given up well before the backend can hand it to
            // another instance: at the default pace (2 s) every 500 ms. It used to be at most
            // every 100 ms whatever the pace, which in a JVM simulating a thousand instances was
            // a fifth of its coordination work (BENCHMARKS.md, round five).
            long margin = Math.min(this.settings.leaderTtl().toNanos() - this.leadershipNanos,
                    this.settings.instanceTtl().toNanos() - this.grantTrustNanos);
            long period = Math.max(TimeUnit.MILLISECONDS.toNanos(5), margin / 4);
            this.deadlines = this.threads.atFixedRate("pivot-pool-coordination-deadlines", period,
                    this::watchDeadlines);
        }
        finally {
            this.lifecycle.unlock();
        }
    }

    /**
     * Stops synchronising, gives up leadership, gives back the grants of pools that hold nothing
     * any more (a closed pool holds nothing; an open one is shrunk to zero first and its grant left
     * to expire if objects are still borrowed) and unregisters this instance; failures are logged.
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
            // First the pools: no round still in flight may raise a limit from now on.
            Map<CapacityShare, Boolean> empty = new LinkedHashMap<>();
            this.shares.values().forEach(share -> empty.put(share, share.retire()));
            if (!this.started) {
                releaseGrants(empty);
                return;
            }
            stopRepeating(this.rounds);
            stopRepeating(this.deadlines);
            // Stop trusting the term and tell the listeners before the backend can elect another.
            this.leadership.resign();
            releaseGrants(empty);
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

    private void releaseGrants(Map<CapacityShare, Boolean> empty) {
        for (Map.Entry<CapacityShare, Boolean> share : empty.entrySet()) {
            String name = share.getKey().name();
            if (!share.getValue()) {
                logger.info("Instance {} keeps its grant of pool '{}' until it expires (instance-ttl): objects are "
                        + "still borrowed", this.self.id(), name);
                continue;
            }
            try {
                this.coordinator.releaseCapacity(name, this.self.id());
            }
            catch (RuntimeException ex) {
                logger.warn("Instance {} could not give back its grant of pool '{}'; it lapses after instance-ttl: {}",
                        this.self.id(), name, describe(ex));
            }
        }
    }

    private void stopRepeating(BackgroundThreads.@Nullable Repeating repeating) {
        if (repeating == null) {
            return;
        }
        // A synchronisation in flight finishes within the backend's operation timeout; past a
        // sync interval (at most 5 s) it is interrupted rather than holding up shutdown.
        repeating.stop(Duration.ofMillis(Math.min(this.settings.syncInterval().toMillis(), 5000)));
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

    /** Like {@link #addPool(Pool, GlobalCapacity)} with the default partition size (the last grant). */
    public void addPool(Pool<?> pool, int globalMaxSize) {
        addPool(pool, GlobalCapacity.of(globalMaxSize));
    }

    /**
     * Creates a pool capped cluster-wide: its first grant is asked for before the pool exists
     * (on the calling thread, within the backend's operation timeout), and the pool starts with
     * that grant as its size limit, min-idle filled within it, so it never holds more than its
     * share, not even while it starts. If the coordinator does not answer, the pool starts empty
     * (limit 0) and takes its share at the first round that reaches the coordinator. Where the
     * leader raises grants (etcd) and another instance leads, it asks for nothing and starts
     * empty too: its grant is left to the leader's rebalance and raise, about two rounds later.
     *
     * @throws IllegalArgumentException as {@link #addPool(Pool, GlobalCapacity)} does
     * @throws IllegalStateException if the manager was closed
     */
    public <T> Pool<T> createPool(PoolSpec<T> spec, PoolSettings settings, GlobalCapacity capacity) {
        Objects.requireNonNull(spec, "spec must not be null");
        Objects.requireNonNull(settings, "settings must not be null");
        Objects.requireNonNull(capacity, "capacity must not be null");
        checkCappable(spec.name(), settings, capacity);
        this.lifecycle.lock();
        try {
            checkRegistrable(spec.name());
            // Left to the leader, the pool asks for nothing, and need not count the members.
            boolean leftToLeader = anotherInstanceRaisesGrants();
            int requested = leftToLeader ? 0 : Math.min(Math.min(settings.maxSize(), firstRequest(capacity)),
                    this.active.fellBack() ? capacity.partitionSize() : Integer.MAX_VALUE);
            long sentAt = this.nanoClock.getAsLong();
            CapacityGrant grant = null;
            RuntimeException failure = null;
            try {
                registerBeforeRequest();
                grant = this.coordinator.requestCapacity(spec.name(), this.self.id(), requested,
                        capacity.globalMaxSize(), this.settings.instanceTtl());
            }
            catch (RuntimeException ex) {
                failure = ex;
            }
            Pool<T> pool = Pool.create(spec, settings, (grant != null) ? Math.min(grant.granted(), requested) : 0);
            CapacityShare share = new CapacityShare(pool, capacity, this.active.fellBack());
            if (grant != null) {
                share.granted(grant.granted(), requested, true, sentAt, this.nanoClock.getAsLong(),
                        this.grantTrustNanos, this.growthHoldNanos);
                if (leftToLeader) {
                    share.askedNothingFirst(firstTargetDueBy(sentAt));
                }
            }
            else {
                share.firstRequestFailed();
                warnFirstGrantFailed(share, failure);
            }
            this.shares.put(spec.name(), share);
            startRenewing();
            return pool;
        }
        finally {
            this.lifecycle.unlock();
        }
    }

    /**
     * Caps an existing pool cluster-wide: from now on its size limit follows this instance's
     * grant, asked for at once on the calling thread; the pool shrinks to it at once (idle objects
     * above it are destroyed). Prefer {@link #createPool}, which never lets the pool start above
     * its share.
     *
     * @throws IllegalArgumentException if the pool overflows beyond its limit ({@code elastic} or
     *     {@code fallback}: objects the cluster-wide cap could not count), if leader election is
     *     off (nobody would share the cap), or if another pool of the same name is registered
     * @throws IllegalStateException if the manager was closed
     */
    public void addPool(Pool<?> pool, GlobalCapacity capacity) {
        Objects.requireNonNull(pool, "pool must not be null");
        Objects.requireNonNull(capacity, "capacity must not be null");
        checkCappable(pool.name(), pool.settings(), capacity);
        this.lifecycle.lock();
        try {
            checkRegistrable(pool.name());
            CapacityShare share = new CapacityShare(pool, capacity, this.active.fellBack());
            try {
                if (anotherInstanceRaisesGrants()) {
                    share.askedNothingFirst(firstTargetDueBy(this.nanoClock.getAsLong()));
                }
                requestGrant(share, membersSeen());
            }
            catch (RuntimeException ex) {
                share.firstRequestFailed();
                warnFirstGrantFailed(share, ex);
            }
            this.shares.put(pool.name(), share);
            startRenewing();
        }
        finally {
            this.lifecycle.unlock();
        }
    }

    /**
     * A grant must be renewed from the moment it exists: a capped pool created before
     * {@link #start()} (Spring creates pools while the context refreshes, and starts coordination
     * after) starts the rounds and the deadline watch at once, rather than letting its first grant
     * expire while the pool keeps its limit. Call with the lifecycle lock held.
     */
    private void startRenewing() {
        if (!this.started) {
            start();
        }
    }

    private void checkCappable(String name, PoolSettings settings, GlobalCapacity capacity) {
        Overflow overflow = settings.overflow();
        if (overflow == Overflow.ELASTIC || overflow == Overflow.FALLBACK) {
            throw new IllegalArgumentException("Pool '" + name + "' has global-max-size " + capacity.globalMaxSize()
                    + " and overflow '" + overflow.name().toLowerCase(Locale.ROOT) + "', which creates objects beyond "
                    + "the limit that the cluster-wide cap cannot count; use overflow 'wait' or 'fail' for a capped "
                    + "pool");
        }
        if (!this.settings.leaderElection()) {
            throw new IllegalArgumentException("Pool '" + name + "' has global-max-size " + capacity.globalMaxSize()
                    + " but distributed.leader-election is false: the leader shares the cap among the instances; "
                    + "enable leader election or remove global-max-size");
        }
    }

    /** Call with the lifecycle lock held. */
    private void checkRegistrable(String name) {
        if (this.closed) {
            throw new IllegalStateException("DistributedPoolManager of " + this.self.id() + " is closed");
        }
        if (this.shares.containsKey(name)) {
            throw new IllegalArgumentException("Another pool named '" + name + "' is already registered");
        }
    }

    /**
     * Whether a new pool's first grant is left to the leader: where holders race for a pool's
     * ledger and the leader raises grants ({@link #leaderRaisesGrants}), and another instance leads.
     * Such a pool asks for nothing at first, which races nobody, and waits for the target the
     * leader's rebalance gives it (due at once, the membership having changed) and for the leader
     * to raise its grant to it, about two rounds. Asking for a share at once gains little in a
     * fleet whose cap is all granted: there is nothing to take until the others shrink to their
     * new targets. In a rolling deploy it could take what a leaving instance gave back, but the
     * newcomers then race each other for it: at a deploy of a hundred in a fleet of a thousand on
     * etcd their first requests lost 136-333 transactions on the pools' version keys; asking for
     * nothing, none (BENCHMARKS.md, rounds fifteen and seventeen).
     */
    private boolean anotherInstanceRaisesGrants() {
        if (!leaderRaisesGrants() || isLeader()) {
            return false;
        }
        SyncState last = this.state;
        try {
            // The leader the last round read, once a round has: a pool added later costs no call.
            LeaderLease leader = last.connected() ? last.leader() : this.coordinator.currentLeader().orElse(null);
            return leader != null && !leader.holderId().equals(this.self.id());
        }
        catch (RuntimeException ex) {
            return false;
        }
    }

    /**
     * Until when a pool that left its first grant to the leader waits for a target: the leader's
     * next round sees the new member and rebalances at once, and this instance reads the target at
     * its next round; a rebalance-interval more covers a leader that changes meanwhile.
     */
    private long firstTargetDueBy(long sentAt) {
        return sentAt + this.settings.rebalanceInterval().toNanos() + 2 * this.settings.syncInterval().toNanos();
    }

    /** A newcomer's first request: a fair share of the members it can see, itself included. */
    private int firstRequest(GlobalCapacity capacity) {
        return Math.max(1, capacity.globalMaxSize() / membersSeen());
    }

    /**
     * The members a newcomer's first request divides the cap by: counted, not listed, so that a
     * rolling deploy of a large cluster does not make every new pool read every member. Before
     * {@link #start()} this instance is not registered yet and counts itself.
     */
    private int membersSeen() {
        try {
            return Math.max(1, this.coordinator.liveInstanceCount() + (this.started ? 0 : 1));
        }
        catch (RuntimeException ex) {
            return 1;
        }
    }

    private void warnFirstGrantFailed(CapacityShare share, @Nullable RuntimeException ex) {
        logger.warn("Instance {} could not obtain a share of pool '{}' (global-max-size {}); it holds nothing "
                + "until the coordinator answers: {}", this.self.id(), share.name(),
                share.capacity().globalMaxSize(), (ex != null) ? describe(ex) : "it answered with no grant");
    }

    private void requestGrant(CapacityShare share, int membersSeen) {
        registerBeforeRequest();
        int requested = share.prepareRequest(membersSeen, this.nanoClock.getAsLong());
        long sentAt = this.nanoClock.getAsLong();
        CapacityGrant grant = this.coordinator.requestCapacity(share.name(), this.self.id(), requested,
                share.capacity().globalMaxSize(), this.settings.instanceTtl());
        applyGrant(share, grant, requested, sentAt);
    }

    /**
     * Renews this instance's registration first if it was never registered, or if its last renewal
     * was sent more than half an instance-ttl ago: every grant is asked for within half an
     * instance-ttl of a registration, which the leader's reaping of grants whose holder is not a
     * member counts on ({@link NonMemberGrants}). In a round, the round's own heartbeat is that
     * renewal; a pool added between rounds, or a round slowed down between its heartbeat and its
     * requests, renews once more.
     */
    private void registerBeforeRequest() {
        long sentAt = this.nanoClock.getAsLong();
        if (this.registered && sentAt - this.registeredAtNanos <= this.settings.instanceTtl().toNanos() / 2) {
            return;
        }
        if (this.registered) {
            this.coordinator.heartbeat(this.self, this.settings.instanceTtl());
        }
        else {
            this.coordinator.register(this.self, this.settings.instanceTtl());
        }
        registered(sentAt);
    }

    /** This instance's registration was renewed by a call sent at {@code sentAt}. */
    private void registered(long sentAt) {
        this.registeredAtNanos = sentAt;
        this.registered = true;
    }

    /** Follows a grant asked for at {@code sentAt}: see {@link CapacityShare#granted}. */
    private void applyGrant(CapacityShare share, CapacityGrant grant, int requested, long sentAt) {
        boolean wasPartitioned = share.partitioned();
        if (!share.granted(grant.granted(), requested, grant.renewed(), sentAt, this.nanoClock.getAsLong(),
                this.grantTrustNanos, this.growthHoldNanos)) {
            // Closed while the request was in flight: give back what it may just have recorded.
            if (share.retire()) {
                this.coordinator.releaseCapacity(share.name(), this.self.id());
            }
            return;
        }
        if (wasPartitioned && !share.partitioned()) {
            logger.info("Instance {} holds a grant of {} of pool '{}' again", this.self.id(), share.status().grant(),
                    share.name());
        }
    }

    /** Tells {@code listener} of every later change of this instance's leadership. */
    public void addLeadershipListener(LeadershipListener listener) {
        this.leadership.addListener(Objects.requireNonNull(listener, "listener must not be null"));
    }

    /** Whether this instance leads now: it holds a term whose renewal is recent enough to trust. */
    public boolean isLeader() {
        return this.leadership.isTrusted();
    }

    /**
     * This instance's current term, if it leads now: guard a resource of your own with its
     * {@link LeaderLease#fencingToken() fencing token}, which every later term exceeds.
     */
    public Optional<LeaderLease> leadership() {
        return this.leadership.current();
    }

    /**
     * This instance's share of one capped pool, or null: unlike {@link #status()}, reading it
     * changes nothing (a status read makes a follower list the members in its next round), so
     * that the simulation can watch every step without altering the protocol it checks.
     */
    @Nullable PoolCapacity capacityOf(String pool) {
        CapacityShare share = this.shares.get(pool);
        return (share != null) ? share.status() : null;
    }

    /**
     * What the backend in use says an operator should see ({@link Coordinator#details()}), such as
     * Redis's eviction policy; nothing after a fallback to the no-op coordinator. Never calls it.
     */
    public Map<String, String> backendDetails() {
        return this.coordinator.details();
    }

    /** A snapshot of this instance's coordination. */
    public CoordinationStatus status() {
        this.memberCountWanted = true;
        SyncState current = this.state;
        // One view: while this instance trusts its term, that term is the leader it reports, even
        // if the round that won or renewed it has not completed yet.
        Optional<LeaderLease> own = leadership();
        boolean leader = own.isPresent();
        LeaderLease seen = own.orElse(current.leader());
        if (!leader && seen != null && seen.holderId().equals(this.self.id())) {
            seen = null;
        }
        Map<String, PoolCapacity> pools = new HashMap<>();
        this.shares.forEach((name, share) -> pools.put(name, share.status()));
        boolean recent = current.connected() && current.lastSyncNanos() != null
                && this.nanoClock.getAsLong() - current.lastSyncNanos() < this.settings.instanceTtl().toNanos();
        String lastError = current.lastError();
        if (current.connected() && !recent) {
            lastError = "no synchronisation has completed for longer than instance-ttl ("
                    + this.settings.instanceTtl() + ")";
        }
        return new CoordinationStatus(this.self.id(), this.active.requestedBackend(), this.active.activeBackend(),
                recent, this.active.fallbackReason(), (seen != null) ? seen.holderId() : null, leader,
                (seen != null) ? seen.fencingToken() : 0, current.members(), current.memberCount(), current.lastSync(),
                lastError, pools, this.rebalances.get(), CoordinationStatus.foreignApplications(this.self,
                        current.members()));
    }

    // ---- the background synchronisation ----------------------------------------------------

    /**
     * One round: heartbeat (or register, the first time), seek or renew leadership, read the
     * leader, then the capacity round. It stops at the first failure, since the backend is then
     * most likely unreachable and each further call would only wait for its own timeout.
     * Leadership and grants survive a failed round only until their local deadlines, which the
     * deadline thread watches, so that they are given up in time even while this thread is stuck
     * in a call.
     */
    private void synchronize(boolean first) {
        SyncState before = this.state;
        try {
            if (this.connectPending) {
                this.coordinator.connect();
                this.connectPending = false;
            }
            // A leader whose last round failed renews in a call of its own: one step that keeps
            // failing (a pool's grants contended past the call's time) would otherwise hide every
            // renewal of its lease that the same call made, and it would step down for it.
            boolean renewApart = isLeader() && before.lastError() != null;
            Outcome outcome = (first || renewApart) ? separateCalls(first, before) : oneCall(before);
            this.state = new SyncState(true, outcome.members(), outcome.memberCount(), outcome.leader(),
                    Instant.now(this.wallClock), this.nanoClock.getAsLong(), null);
            if (!before.connected() && before.lastError() != null) {
                logger.info("Instance {} is coordinating through '{}' again", this.self.id(),
                        this.active.activeBackend());
            }
        }
        catch (Throwable ex) {
            // Errors included: the round is repeated whatever happened, and the status says it
            // failed rather than freezing at its last value.
            this.shares.values().forEach(CapacityShare::roundFailed);
            String error = describe(ex);
            this.state = new SyncState(false, before.members(), before.memberCount(), before.leader(),
                    before.lastSync(), before.lastSyncNanos(), error);
            if (ex instanceof Error) {
                logger.error("Instance {}: a synchronisation failed with {}", this.self.id(), error, ex);
            }
            else if (before.lastError() == null) {
                logger.warn("Instance {} could not synchronise with coordinator '{}', retrying every {}: {}",
                        this.self.id(), this.active.activeBackend(), this.settings.syncInterval(), error);
            }
            else {
                logger.debug("Instance {} still cannot synchronise: {}", this.self.id(), error);
            }
        }
        watchDeadlines();
    }

    /**
     * Warns (once for each change) when instances of other applications share this namespace: their
     * pools of the same names would share one cap with this application's. Members carry their
     * application's name ({@code spring.application.name}); one namespace per application keeps
     * the caps apart.
     */
    private void warnIfShared(List<InstanceInfo> members) {
        List<String> foreign = CoordinationStatus.foreignApplications(this.self, members);
        if (foreign.equals(this.foreignWarned)) {
            return;
        }
        this.foreignWarned = foreign;
        if (!foreign.isEmpty()) {
            logger.warn("Instances of other applications ({}) share namespace '{}' with '{}': pools of the same names "
                    + "share one cap across them. Give each application a namespace of its own "
                    + "(distributed.namespace)", RemoteText.escape(String.join(", ", foreign)),
                    RemoteText.escape(this.settings.namespace()),
                    RemoteText.escape(this.self.metadata().getOrDefault("application", CoordinationStatus.UNNAMED)));
        }
    }

    /** What a round found: the members (listed by a leader only), their count, the current lease. */
    private record Outcome(List<InstanceInfo> members, int memberCount, @Nullable LeaderLease leader) {
    }

    /**
     * A round in one coordinator call ({@link Coordinator#round}): heartbeat, seek or renew
     * leadership, count the members if somebody read the status, write the demand reports that
     * changed, renew or change every grant, read the targets. The grants follow the targets read
     * in the round before (they are asked for in the same call that reads the new ones), so a new
     * target takes effect one sync interval later than in separate calls; in exchange a follower
     * costs the backend one round trip per round, which at a thousand instances is most of
     * coordination's cost to a shared Redis. The leader's part (listing the members, sharing the
     * caps, reaping) follows the call in the same round, whether this call won the lease or
     * renewed it; a leader neither reports its demand nor reads its own targets (it sets them), so
     * its call only heartbeats, renews and asks for its grants: on etcd that took 7–8 ms off the
     * median round of a leader of a thousand members, 44–45 ms (BENCHMARKS.md, round twelve).
     */
    private Outcome oneCall(SyncState before) {
        long now = this.nanoClock.getAsLong();
        boolean wasLeading = isLeader();
        boolean countMembers = !wasLeading
                && (this.memberCountWanted || (before.memberCount() == 0 && !this.shares.isEmpty()));
        if (countMembers) {
            this.memberCountWanted = false;
        }
        Map<String, CapacityRecords.Demand> demands = sampleDemands();
        Duration reportTtl = reportTtl();
        Map<String, byte[]> reports = wasLeading ? Map.of() : changedReports(demands, now, reportTtl);
        List<CapacityShare> order = new ArrayList<>(this.shares.values());
        List<SyncRound.CapacityRequest> requests = new ArrayList<>(order.size());
        int[] requested = new int[order.size()];
        Map<String, CapacityShare> targets = new HashMap<>();
        // Where the leader raises grants, a share whose target rose lets it, for as long as the
        // leader goes on raising (a rebalance-interval, and at least two rounds, from the rise or
        // from the leader's last raise of it); then it grows on its own. Growers that raced each
        // other for capacity as it was given back lost 7,080 transactions in a deploy of a hundred
        // when they waited two rounds only (BENCHMARKS.md, round fourteen).
        boolean raising = leaderRaisesGrants();
        long mayWait = Math.max(this.settings.rebalanceInterval().toNanos(),
                this.settings.syncInterval().toNanos() * 5 / 2);
        for (int i = 0; i < order.size(); i++) {
            CapacityShare share = order.get(i);
            requested[i] = share.prepareRequest(Math.max(1, before.memberCount()), now);
            requests.add(new SyncRound.CapacityRequest(share.name(), requested[i], share.capacity().globalMaxSize(),
                    this.settings.instanceTtl(), raising && share.growthMayWait(now, mayWait)));
            targets.put(CapacityRecords.targetKey(share.name(), this.self.id()), share);
        }
        boolean electing = this.settings.leaderElection();
        SyncRound round = new SyncRound(this.self, this.settings.instanceTtl(),
                electing ? this.leadership.ttl() : null, countMembers, reports, reportTtl, requests,
                wasLeading ? List.of() : new ArrayList<>(targets.keySet()));
        long sentAt = this.nanoClock.getAsLong();
        SyncRound.Reply reply = this.coordinator.round(round);
        if (reply == null) {
            throw new CoordinatorException("a round returned no reply");
        }
        registered(sentAt);
        if (reply.grants().size() != order.size()) {
            throw new CoordinatorException("a round returned " + reply.grants().size() + " grants for "
                    + order.size() + " requests");
        }
        for (int i = 0; i < order.size(); i++) {
            // A grant applied to another pool could take that pool above its share.
            if (!reply.grants().get(i).pool().equals(order.get(i).name())) {
                throw new CoordinatorException("a round returned the grants in another order than requested");
            }
        }
        LeaderLease leader = electing ? this.leadership.found(reply.leader(), sentAt) : reply.leader().orElse(null);
        reportsWritten(demands, reports, now);
        for (int i = 0; i < order.size(); i++) {
            applyGrant(order.get(i), reply.grants().get(i), requested[i], sentAt);
        }
        int memberCount = (reply.memberCount() >= 0) ? reply.memberCount() : before.memberCount();
        boolean leading = leader != null && this.self.id().equals(leader.holderId()) && isLeader();
        announceLeadership();
        if (!leading) {
            this.nonMemberGrants.notLeading();
            this.shares.values().forEach(CapacityShare::forgetDistribution);
            if (leader != null) {
                acceptTargets(targets, reply.values(), leader.fencingToken());
            }
            return new Outcome(List.of(), memberCount, leader);
        }
        // Won or renewed in this call: the leader's part follows at once.
        List<InstanceInfo> members = this.coordinator.liveInstances();
        warnIfShared(members);
        int[] targetsBefore = new int[order.size()];
        for (int i = 0; i < order.size(); i++) {
            targetsBefore[i] = order.get(i).status().target();
        }
        leaderPart(Objects.requireNonNull(leader, "won, so a lease").fencingToken(), members, demands);
        giveBackAtOnce(order, targetsBefore, members.size());
        return new Outcome(members, members.size(), leader);
    }

    /**
     * A leader's grants were asked for in its round's one call, before it rebalanced; a share its
     * new rebalance gave a lower target than it holds is asked for again at once, with a call of
     * its own, rather than in the next round. What it gives back is what the followers the
     * rebalance moved it to are waiting for: a round later, they would be short one more round
     * than when the leader made its calls one by one (BENCHMARKS.md, round twelve). Growth waits
     * for the next round, as a follower's does. Only in the round whose rebalance lowered the
     * target, so that a pool still draining towards it costs no extra call a round.
     */
    private void giveBackAtOnce(List<CapacityShare> order, int[] targetsBefore, int membersSeen) {
        for (int i = 0; i < order.size(); i++) {
            CapacityShare share = order.get(i);
            PoolCapacity now = share.status();
            if (now.target() >= 0 && now.target() != targetsBefore[i] && now.target() < now.grant()) {
                requestGrant(share, Math.max(1, membersSeen));
            }
        }
    }

    /**
     * The first round, registering rather than renewing, so that a failure names the step that
     * failed and the first listing finds this instance among the members; and a leader's round
     * after one that failed. One call per step.
     */
    private Outcome separateCalls(boolean first, SyncState before) {
        long sentAt = this.nanoClock.getAsLong();
        if (first) {
            this.coordinator.register(this.self, this.settings.instanceTtl());
        }
        else {
            this.coordinator.heartbeat(this.self, this.settings.instanceTtl());
        }
        registered(sentAt);
        LeaderLease leader = this.settings.leaderElection() ? seekLeadership()
                : this.coordinator.currentLeader().orElse(null);
        // A reply that came too late to trust leaves this round to the followers' part.
        boolean leading = leader != null && this.self.id().equals(leader.holderId()) && isLeader();
        // Only the leader lists the members (it shares the caps among them); a follower keeps
        // no list, and counts the members only when somebody reads its status, so that
        // probing every instance of a large cluster does not cost the backend O(N) each.
        List<InstanceInfo> members = List.of();
        int memberCount = before.memberCount();
        if (leading) {
            members = this.coordinator.liveInstances();
            memberCount = members.size();
            warnIfShared(members);
        }
        else if (first || this.memberCountWanted || (memberCount == 0 && !this.shares.isEmpty())) {
            this.memberCountWanted = false;
            memberCount = this.coordinator.liveInstanceCount();
        }
        announceLeadership();
        syncCapacity(leader, leading, members, memberCount);
        return new Outcome(members, memberCount, leader);
    }

    private Map<String, CapacityRecords.Demand> sampleDemands() {
        Map<String, CapacityRecords.Demand> demands = new HashMap<>();
        for (CapacityShare share : this.shares.values()) {
            demands.put(share.name(), share.sampleDemand());
        }
        return demands;
    }

    /**
     * Asks for (or renews) the lease; returns the current lease, this instance's if it leads, or
     * another's (one call: a follower learns the leader's term on the way), or null if nobody leads.
     */
    private @Nullable LeaderLease seekLeadership() {
        return this.leadership.seek();
    }

    /**
     * The capacity part of a round. Every instance samples its demand; a follower reports it and
     * reads its own targets (one batched write, when a report changed, and one batched read), the
     * leader rebalances when due; then each pool converges on its target through the
     * coordinator's atomic grant.
     */
    private void syncCapacity(@Nullable LeaderLease leader, boolean leading, List<InstanceInfo> members,
            int memberCount) {
        if (this.shares.isEmpty()) {
            return;
        }
        Map<String, CapacityRecords.Demand> demands = sampleDemands();
        if (leading) {
            leaderPart(Objects.requireNonNull(leader, "leading, so a lease").fencingToken(), members, demands);
        }
        else {
            this.nonMemberGrants.notLeading();
            this.shares.values().forEach(CapacityShare::forgetDistribution);
            reportDemands(demands);
            if (leader != null) {
                readTargets(leader.fencingToken());
            }
        }
        for (CapacityShare share : this.shares.values()) {
            requestGrant(share, Math.max(1, memberCount));
        }
    }

    /**
     * Writes the demand reports that changed, or whose last write is older than half their TTL
     * (so that a report never lapses while this instance lives): in a steady cluster most
     * rounds write nothing, which spares the backend a write per instance and pool per round
     * (on etcd each is a Raft proposal). A report lives {@link #DEMAND_TTLS} instance-ttls: the
     * leader reads only the reports of listed members, so a departed instance's report is never
     * read again, and its TTL only clears it away; the longer it is, the rarer the refreshes.
     */
    private void reportDemands(Map<String, CapacityRecords.Demand> demands) {
        long now = this.nanoClock.getAsLong();
        Duration reportTtl = reportTtl();
        Map<String, byte[]> changed = changedReports(demands, now, reportTtl);
        if (changed.isEmpty()) {
            return;
        }
        this.coordinator.setAll(changed, reportTtl);
        reportsWritten(demands, changed, now);
    }

    private Duration reportTtl() {
        Duration reportTtl = this.settings.instanceTtl().multipliedBy(DEMAND_TTLS);
        return (reportTtl.compareTo(DistributedSettings.LONGEST_TTL) > 0) ? DistributedSettings.LONGEST_TTL : reportTtl;
    }

    /** The reports to write at {@code now}: see {@link #reportDemands}. */
    private Map<String, byte[]> changedReports(Map<String, CapacityRecords.Demand> demands, long now,
            Duration reportTtl) {
        long refreshNanos = reportTtl.toNanos() / 2;
        Map<String, byte[]> changed = new HashMap<>();
        demands.forEach((pool, demand) -> {
            WrittenDemand written = this.writtenDemands.get(pool);
            if (written == null || !written.demand().equals(demand) || now - written.atNanos() >= refreshNanos) {
                changed.put(CapacityRecords.demandKey(pool, this.self.id()), demand.encode());
            }
        });
        return changed;
    }

    /** The reports in {@code changed} were written; {@code now} was taken before, so that a refresh comes early. */
    private void reportsWritten(Map<String, CapacityRecords.Demand> demands, Map<String, byte[]> changed, long now) {
        demands.forEach((pool, demand) -> {
            if (changed.containsKey(CapacityRecords.demandKey(pool, this.self.id()))) {
                this.writtenDemands.put(pool, new WrittenDemand(demand, now));
            }
        });
    }

    private void readTargets(long term) {
        Map<String, CapacityShare> byKey = new HashMap<>();
        for (CapacityShare share : this.shares.values()) {
            byKey.put(CapacityRecords.targetKey(share.name(), this.self.id()), share);
        }
        acceptTargets(byKey, this.coordinator.getAll(byKey.keySet(), CapacityRecords.MAX_RECORD_BYTES), term);
    }

    private void acceptTargets(Map<String, CapacityShare> byKey, Map<String, byte[]> values, long term) {
        values.forEach((key, value) -> {
            CapacityShare share = byKey.get(key);
            if (share == null) {
                return;
            }
            try {
                share.acceptTarget(CapacityRecords.Target.decode(value), term, this.nanoClock.getAsLong());
            }
            catch (IllegalArgumentException ex) {
                warnGarbage(key, ex.getMessage());
            }
        });
    }

    /**
     * The leader's part of a round, after its listing found {@code members} (this instance counts
     * as one whether listed or not): shares the caps anew when due, then gives back the grants of
     * holders that have not been members for long enough.
     * A leader writes no report of its own; after its term the first report is written anew.
     */
    private void leaderPart(long term, List<InstanceInfo> members, Map<String, CapacityRecords.Demand> own) {
        if (this.shares.isEmpty()) {
            return;
        }
        this.writtenDemands.clear();
        TreeSet<String> ids = new TreeSet<>();
        members.forEach(member -> ids.add(member.id()));
        ids.add(this.self.id());
        rebalanceIfDue(term, ids, own);
        growGrants(term);
        reapNonMemberGrants(term, ids);
    }

    /**
     * Whether the leader raises grants ({@link Coordinator#growGrants}): only where holders race
     * for a pool's ledger, which a backend says by counting conflicts (etcd); a Redis script runs
     * each request alone, without such races.
     */
    private boolean leaderRaisesGrants() {
        return this.coordinator.capacityConflicts() >= 0;
    }

    /**
     * Where holders race for a pool's ledger ({@link #leaderRaisesGrants}), raises the grants of the members the last rebalance gave more, in a few calls of
     * the leader's, from the round after it and again each round until all are raised (capacity
     * given back meanwhile makes room) or a rebalance-interval has passed since a target last rose
     * or a call last left fewer holders below their targets than the call before it.
     * At a rolling deploy of a hundred instances in a fleet of a thousand, the holders that grew
     * each raced the others for the pool's version key, and lost 13,000-31,000 transactions in
     * all (BENCHMARKS.md, round thirteen); a holder that finds its grant raised only renews it.
     * A failure is logged and tried again next round: the holders still grow on their own.
     */
    private void growGrants(long term) {
        if (this.growths.isEmpty()) {
            return;
        }
        long now = this.nanoClock.getAsLong();
        for (Iterator<Map.Entry<String, Growth>> it = this.growths.entrySet().iterator(); it.hasNext();) {
            Map.Entry<String, Growth> entry = it.next();
            Growth growth = entry.getValue();
            CapacityShare share = this.shares.get(entry.getKey());
            if (share == null || growth.term() != term
                    || now - growth.atNanos() >= this.settings.rebalanceInterval().toNanos()) {
                it.remove();
                continue;
            }
            if (now - growth.sinceNanos() < this.settings.syncInterval().toNanos() * 3 / 4) {
                // Not in the rebalance's own round: a follower's request is prepared before its
                // round reads its target, so one that had not read the new target yet would ask
                // for its old one and give back at once what was raised. A round later every
                // follower has read it.
                continue;
            }
            try {
                int below = this.coordinator.growGrants(share.name(), share.capacity().globalMaxSize(), growth.targets());
                if (below <= 0) {
                    it.remove();
                }
                else if (below < growth.below()) {
                    // Fewer below than after the last call: some were raised, and the holders raised
                    // wait a window longer (CapacityShare#granted), so the raising goes on as long.
                    entry.setValue(new Growth(growth.term(), growth.targets(), growth.sinceNanos(), now, below));
                }
            }
            catch (RuntimeException ex) {
                logger.debug("Instance {} could not raise the grants of pool '{}' to their targets; the holders "
                        + "grow at their own requests: {}", this.self.id(), share.name(), describe(ex));
            }
        }
    }

    /**
     * Gives back the grants whose holder this leader has not listed as a member for longer than
     * 1.5 instance-ttl + sync-interval ({@link NonMemberGrants}, which says why no member can still
     * trust them), reading one pool's grants per round; one warning per grant every few minutes.
     */
    private void reapNonMemberGrants(long term, Set<String> ids) {
        List<String> pools = new ArrayList<>(this.shares.keySet());
        Collections.sort(pools);
        long now = this.nanoClock.getAsLong();
        for (NonMemberGrants.Reaped reaped : this.nonMemberGrants.leaderRound(term, ids, pools, now)) {
            String what = "grant of pool '" + reaped.pool() + "' held by '" + reaped.holder() + "'";
            if (mayWarn(what, now)) {
                logger.warn("Instance {} gave back the {} ({} object(s)): its holder has not been a member for {} ms, "
                        + "longer than 1.5 instance-ttl + sync-interval, so no member trusts it (a grant no member "
                        + "of this cluster asked for)", this.self.id(), RemoteText.escape(what), reaped.granted(),
                        TimeUnit.NANOSECONDS.toMillis(reaped.absentNanos()));
            }
        }
    }

    /**
     * The leader's part of a round. It reads every member's demand report each round, all pools
     * in one batched read, and shares every capped pool anew when a rebalance is due: every
     * rebalance-interval, at once when its term begins or the membership changes, and early (at
     * most every other round) when some instance asks for more than its target while another
     * holds more than it asks for, so that capacity moves to where the load went without waiting
     * for the next interval. The targets of every pool are written in one batched write. So the
     * leader's round is a fixed number of round trips whatever the cluster's size; only its bytes
     * grow with it.
     */
    private void rebalanceIfDue(long term, TreeSet<String> ids, Map<String, CapacityRecords.Demand> own) {
        long now = this.nanoClock.getAsLong();
        Rebalance last = this.lastRebalance;
        boolean due = last == null || last.term() != term || !last.members().equals(ids)
                || now - last.atNanos() >= this.settings.rebalanceInterval().toNanos();
        boolean mayMoveEarly = last != null
                && now - last.atNanos() >= 2 * this.settings.syncInterval().toNanos();
        if (!due && !mayMoveEarly) {
            // Nothing the reports could change this round: they are not read (three thousand
            // bounded reads at a thousand members with three pools).
            return;
        }
        List<String> demandKeys = new ArrayList<>();
        for (CapacityShare share : this.shares.values()) {
            for (String id : ids) {
                if (!id.equals(this.self.id())) {
                    demandKeys.add(CapacityRecords.demandKey(share.name(), id));
                }
            }
        }
        Map<String, byte[]> reports = demandKeys.isEmpty() ? Map.of()
                : this.coordinator.getAll(demandKeys, CapacityRecords.MAX_RECORD_BYTES);
        Map<CapacityShare, List<CapacityPlanner.Member>> plans = new LinkedHashMap<>();
        for (CapacityShare share : this.shares.values()) {
            int cap = share.capacity().globalMaxSize();
            List<CapacityPlanner.Member> planned = new ArrayList<>();
            for (String id : ids) {
                CapacityRecords.Demand demand = id.equals(this.self.id()) ? own.get(share.name())
                        : decodeDemand(CapacityRecords.demandKey(share.name(), id), reports);
                planned.add((demand != null) ? new CapacityPlanner.Member(id, demand.demand(), demand.localMaxSize())
                        : new CapacityPlanner.Member(id, 0, cap));
            }
            plans.put(share, planned);
            due = due || (mayMoveEarly && demandMoved(planned, share.status().distribution()));
        }
        if (!due) {
            return;
        }
        plans.forEach(this::warnIfCapUnreachable);
        Duration targetTtl = this.settings.rebalanceInterval().multipliedBy(3).plus(this.settings.instanceTtl());
        long refreshNanos = targetTtl.toNanos() / 2;
        Map<String, byte[]> written = new HashMap<>();
        Map<String, WrittenTarget> writing = new HashMap<>();
        Map<CapacityShare, Map<String, Integer>> planned = new LinkedHashMap<>();
        Set<CapacityShare> rose = new HashSet<>();
        for (Map.Entry<CapacityShare, List<CapacityPlanner.Member>> plan : plans.entrySet()) {
            CapacityShare share = plan.getKey();
            Map<String, Integer> targets = CapacityPlanner.targets(share.capacity().globalMaxSize(), plan.getValue());
            for (Map.Entry<String, Integer> target : targets.entrySet()) {
                if (!target.getKey().equals(this.self.id())) {
                    // Only what changed, or what would lapse before the next refresh: in a steady
                    // cluster most targets stay the same from one rebalance to the next. The cost:
                    // a target key lost meanwhile (data loss, a tenant's write) is written again
                    // only at its refresh, and until then its follower keeps its last target;
                    // targets only steer, the grants keep the cap.
                    String key = CapacityRecords.targetKey(share.name(), target.getKey());
                    WrittenTarget before = this.writtenTargets.get(key);
                    if (before == null || before.term() != term || before.target() < target.getValue()) {
                        rose.add(share);
                    }
                    if (before == null || before.term() != term || before.target() != target.getValue()
                            || now - before.atNanos() >= refreshAfter(key, refreshNanos)) {
                        written.put(key, new CapacityRecords.Target(term, target.getValue()).encode());
                        writing.put(key, new WrittenTarget(term, target.getValue(), now));
                    }
                }
            }
            planned.put(share, targets);
        }
        if (!written.isEmpty()) {
            this.coordinator.setAll(written, targetTtl);
        }
        // Members that left are forgotten with their targets; the map holds at most one entry
        // per member and pool.
        if (last == null || !last.members().equals(ids)) {
            this.writtenTargets.keySet().retainAll(currentTargetKeys(ids));
        }
        this.writtenTargets.putAll(writing);
        // Only once the followers' targets are written: a failed write leaves this rebalance due.
        planned.forEach((share, targets) -> share.leaderTarget(targets.getOrDefault(this.self.id(), 0), term, targets, now));
        if (leaderRaisesGrants()) {
            planned.forEach((share, targets) -> {
                Growth under = this.growths.get(share.name());
                if (under != null && under.term() == term) {
                    // A raising under way goes on towards the new targets, from the round it was due:
                    // during a rolling deploy the membership changes every round, and restarting the
                    // wait at each rebalance raised nothing until the deploy was over.
                    this.growths.put(share.name(), new Growth(term, targets, under.sinceNanos(),
                            rose.contains(share) ? now : under.atNanos(), Integer.MAX_VALUE));
                }
                else if (rose.contains(share)) {
                    this.growths.put(share.name(), new Growth(term, targets, now, now, Integer.MAX_VALUE));
                }
            });
        }
        this.lastRebalance = new Rebalance(term, ids, now);
        this.rebalances.incrementAndGet();
    }

    /**
     * Warns once (again only after it changed) when the members can never hold the pool's cap
     * together: every one reported, and the sum of their max-size has been below global-max-size
     * for {@value #CAP_OUT_OF_REACH_REBALANCES} rebalances in a row, so the cap limits nothing and a
     * typo (a cap of 1000 for 10) would otherwise go unseen. Not at the first rebalance: while a
     * cluster starts, its first leader is alone for a moment.
     */
    private void warnIfCapUnreachable(CapacityShare share, List<CapacityPlanner.Member> members) {
        int cap = share.capacity().globalMaxSize();
        long most = 0;
        for (CapacityPlanner.Member member : members) {
            most += member.localMaxSize();
        }
        String pool = share.name();
        if (most >= cap) {
            this.capOutOfReach.remove(pool);
            return;
        }
        CapOutOfReach before = this.capOutOfReach.get(pool);
        CapOutOfReach now = (before != null && before.most() == most)
                ? new CapOutOfReach(most, before.rebalances() + 1, before.warned())
                : new CapOutOfReach(most, 1, false);
        if (!now.warned() && now.rebalances() >= CAP_OUT_OF_REACH_REBALANCES) {
            now = new CapOutOfReach(most, now.rebalances(), true);
            logger.warn("Pool '{}': its global-max-size {} is more than its {} instance(s) can ever hold together "
                    + "(the sum of their max-size is {}), so the cap limits nothing; lower global-max-size or raise "
                    + "max-size", RemoteText.escape(pool), cap, members.size(), most);
        }
        this.capOutOfReach.put(pool, now);
    }

    /** A pool whose cap its members cannot reach: their sum of max-size, for how many rebalances, told. */
    private record CapOutOfReach(long most, int rebalances, boolean warned) {
    }

    /**
     * When an unchanged target is written again: between half and all of {@code refreshNanos}
     * after its last write (half its TTL), by a fraction fixed per key. Targets written together,
     * as all of them are at a term's first rebalance, are then refreshed at different rebalances
     * instead of all in one round (3,000 writes at a thousand members with three pools, about
     * 30 ms of that leader's round on Redis).
     */
    private static long refreshAfter(String key, long refreshNanos) {
        return (refreshNanos / 2048) * (1024 + (key.hashCode() & 1023));
    }

    /** Whether one instance asks for more than its target while another holds more than it asks for. */
    private static boolean demandMoved(List<CapacityPlanner.Member> members, Map<String, Integer> targets) {
        boolean wantsMore = false;
        boolean hasSpare = false;
        for (CapacityPlanner.Member member : members) {
            Integer target = targets.get(member.instanceId());
            if (target == null) {
                continue;
            }
            int wants = Math.min(member.demand(), member.localMaxSize());
            wantsMore |= wants > target;
            hasSpare |= wants < target && target > 1;
        }
        return wantsMore && hasSpare;
    }

    private CapacityRecords.@Nullable Demand decodeDemand(String key, Map<String, byte[]> reports) {
        byte[] value = reports.get(key);
        if (value == null) {
            return null;
        }
        try {
            return CapacityRecords.Demand.decode(value);
        }
        catch (IllegalArgumentException ex) {
            warnGarbage(key, ex.getMessage());
            return null;
        }
    }

    /** One warning per key every few minutes: a key corrupted again later is reported again. */
    private void warnGarbage(String key, @Nullable String why) {
        if (!mayWarn(key, this.nanoClock.getAsLong())) {
            return;
        }
        logger.warn("Instance {} skipped the coordinator key '{}': it holds {}, not what Pivot Pool writes there",
                this.self.id(), RemoteText.escape(key), why);
    }

    /** For the simulation: reaps the grants of holders absent for longer than {@code nanos} instead. */
    void reapNonMemberGrantsAfter(long nanos) {
        this.nonMemberGrants.reapAfter(nanos);
    }

    /** Whether a warning about {@code subject} may be logged at {@code now}: once every few minutes (it then counts as logged). */
    private boolean mayWarn(String subject, long now) {
        Long last = this.warnedAt.get(subject);
        if (last != null && now - last < TimeUnit.MINUTES.toNanos(5)) {
            return false;
        }
        if (this.warnedAt.size() > 1000) {
            this.warnedAt.clear();
        }
        this.warnedAt.put(subject, now);
        return true;
    }

    /**
     * Runs on the deadline thread (and after each round): gives up every lease whose local
     * deadline has passed without a renewal.
     */
    private void watchDeadlines() {
        // Grants first: a slow or failing leadership listener must never delay a partition.
        try {
            if (this.grantsCanLapse) {
                long now = this.nanoClock.getAsLong();
                for (CapacityShare share : this.shares.values()) {
                    if (share.checkDeadline(now)) {
                        PoolCapacity status = share.status();
                        logger.warn("Instance {} could not renew its grant of pool '{}' in time: it runs on its "
                                + "partition size, holding at most {} (global-max-size {}) until the coordinator "
                                + "answers", this.self.id(), share.name(), status.limit(), status.globalMaxSize());
                    }
                }
            }
        }
        catch (Throwable ex) {
            logger.error("Instance {}: checking grant deadlines failed: {}", this.self.id(), describe(ex), ex);
        }
        try {
            announceLeadership();
        }
        catch (Throwable ex) {
            logger.error("Instance {}: announcing a leadership change failed: {}", this.self.id(), describe(ex), ex);
        }
    }

    /** Tells the listeners (once, in order) when the trusted term changed since it was last told. */
    private void announceLeadership() {
        this.leadership.announce();
    }

    static String describe(Throwable ex) {
        String message = ex.getMessage();
        return (message == null || message.isBlank()) ? ex.getClass().getSimpleName()
                : RemoteText.escape(message) + " (" + ex.getClass().getSimpleName() + ")";
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

    private Set<String> currentTargetKeys(TreeSet<String> ids) {
        Set<String> keys = new HashSet<>();
        for (CapacityShare share : this.shares.values()) {
            for (String id : ids) {
                keys.add(CapacityRecords.targetKey(share.name(), id));
            }
        }
        return keys;
    }

    private record Rebalance(long term, TreeSet<String> members, long atNanos) {
    }

    /**
     * A pool's targets from the last rebalance of {@code term}, for {@link Coordinator#growGrants}:
     * due since {@code sinceNanos}, the rebalance that first raised a target; {@code atNanos}, the
     * last one that did or the last call that left fewer holders below than the call before it;
     * {@code below}, how many the last call left below their targets ({@link Integer#MAX_VALUE}
     * before the first call towards these targets).
     */
    private record Growth(long term, Map<String, Integer> targets, long sinceNanos, long atNanos, int below) {
    }

    /** A follower's target as this leader last wrote it, and when (monotonic nanos, taken before the write). */
    private record WrittenTarget(long term, int target, long atNanos) {
    }

    private record WrittenDemand(CapacityRecords.Demand demand, long atNanos) {
    }

    private record SyncState(boolean connected, List<InstanceInfo> members, int memberCount,
            @Nullable LeaderLease leader, @Nullable Instant lastSync, @Nullable Long lastSyncNanos,
            @Nullable String lastError) {

        static final SyncState INITIAL = new SyncState(false, List.of(), 0, null, null, null, null);
    }
}
