package io.pivotpool.testsupport.contract;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import ch.qos.logback.classic.Level;

import io.pivotpool.coordinator.CapacityGrant;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.distributed.DistributedSettings;
import io.pivotpool.distributed.GlobalCapacity;
import io.pivotpool.distributed.LeadershipListener;
import io.pivotpool.distributed.PoolCapacity;
import io.pivotpool.distributed.internal.ActiveCoordinator;
import io.pivotpool.distributed.internal.Managers;
import io.pivotpool.pool.Lease;
import io.pivotpool.pool.Overflow;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolExhaustedException;
import io.pivotpool.pool.PoolSettings;
import io.pivotpool.pool.PoolSpec;
import io.pivotpool.testsupport.LogCapture;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/**
 * The cluster-wide cap, proven with several {@link DistributedPoolManager}s in one JVM on one
 * backend: each "instance" has its own manager, its own coordinator client and its own pool, and
 * every pooled object of every instance is counted by one shared counter, so that "never more than
 * global-max-size objects alive in the cluster" is checked exactly at every creation, not sampled.
 *
 * <p>Runs against any backend through {@link #client(String)}: a new coordinator client of one
 * shared server per call (the in-memory one here, a real redis-server in the Redis module).
 */
public abstract class ClusterCapacityContract {

    /** sync 100 ms, leader-ttl 1 s, instance-ttl 600 ms, rebalance every 400 ms. */
    protected static final DistributedSettings FAST = DistributedSettings.builder()
        .enabled(true)
        .syncInterval(Duration.ofMillis(100))
        .leaderTtl(Duration.ofSeconds(1))
        .instanceTtl(Duration.ofMillis(600))
        .rebalanceInterval(Duration.ofMillis(400))
        .build();

    private static final int CAP = 12;

    private static final int LOCAL_MAX = 12;

    private final String namespace = "cap-" + UUID.randomUUID().toString().substring(0, 8);

    private final List<AutoCloseable> toClose = new ArrayList<>();

    private final List<Worker> workers = new CopyOnWriteArrayList<>();

    /** Objects alive in the whole cluster: created and not yet destroyed. */
    private final AtomicInteger alive = new AtomicInteger();

    private final AtomicInteger maxAlive = new AtomicInteger();

    private final ConcurrentLinkedQueue<Throwable> borrowerErrors = new ConcurrentLinkedQueue<>();

    /**
     * A new client of this test's shared server, <b>connected</b> (its {@link Coordinator#connect()}
     * already called), under {@code namespace}. An unconnected one fails every case with a message
     * that says so.
     */
    protected abstract Coordinator client(String namespace);

    /** {@link #client(String)}, checked: the contract measures grants, which no unconnected coordinator makes. */
    private Coordinator connectedClient() {
        Coordinator coordinator = client(this.namespace);
        if (!coordinator.isConnected()) {
            throw new AssertionError(getClass().getSimpleName() + ".client(String) returned a coordinator that is "
                    + "not connected (" + coordinator + "): call connect() on it before returning it");
        }
        return coordinator;
    }

    @AfterEach
    void stopEverything() throws Exception {
        for (Worker worker : this.workers) {
            worker.stop();
        }
        for (int i = this.toClose.size() - 1; i >= 0; i--) {
            try {
                this.toClose.get(i).close();
            }
            catch (Exception ex) {
                // closing in reverse order; a failure here must not hide the test's own
            }
        }
    }

    @Test
    void aloneAnInstanceHoldsTheWholeCapWithinItsOwnMaxSize() {
        Instance a = instance("a", new GlobalCapacity(8, 8), FAST);
        assertThat(a.pool.maxSize()).isEqualTo(8);
        assertThat(a.capacity().grant()).isEqualTo(8);
        assertThat(a.manager.coordinator().capacity("p").total()).isEqualTo(8);
    }

    @Test
    void aCappedPoolStartsAtItsFirstGrantWithMinIdleFilledWithinIt() throws Exception {
        Instance a = instance("a", GlobalCapacity.of(4), FAST);
        awaitTrue(Duration.ofSeconds(5), "a leads", a.manager::isLeader);
        int aliveBefore = this.alive.get();
        DistributedPoolManager manager = manager("b", FAST, connectedClient());
        manager.start();
        Pool<Object> pool = manager.createPool(countedSpec("p"),
                PoolSettings.DEFAULTS.toBuilder().maxSize(LOCAL_MAX).minIdle(3).build(), GlobalCapacity.of(4));
        this.toClose.add(pool);
        // a holds the whole cap of 4: the newcomer starts at 0 and creates nothing for min-idle.
        assertThat(pool.maxSize()).isZero();
        assertThat(this.alive.get()).isEqualTo(aliveBefore);
        awaitTrue(Duration.ofSeconds(5), "the newcomer gets its minimum share",
                () -> capacityOfP(manager).grant() >= 1);
        assertThat(this.maxAlive.get()).isLessThanOrEqualTo(4);
    }

    @Test
    void objectsAliveInTheClusterNeverExceedTheCapWhileDemandMovesBetweenInstances() throws Exception {
        Instance a = instance("a", GlobalCapacity.of(CAP), FAST);
        Instance b = instance("b", GlobalCapacity.of(CAP), FAST);
        Instance c = instance("c", GlobalCapacity.of(CAP), FAST);
        awaitTrue(Duration.ofSeconds(5), "a leader", () -> a.manager.isLeader() || b.manager.isLeader()
                || c.manager.isLeader());

        Worker onA = load(a, 2 * CAP);
        awaitTrue(Duration.ofSeconds(5), "a holds all but the others' minimum shares",
                () -> a.capacity().grant() >= CAP - 2 && a.pool.stats().active() >= CAP - 2);
        onA.stop();

        long moved = System.nanoTime();
        Worker onB = load(b, 2 * CAP);
        awaitTrue(Duration.ofSeconds(5), "b holds all but the others' minimum shares",
                () -> b.capacity().grant() >= CAP - 2 && b.pool.stats().active() >= CAP - 2);
        Duration converged = Duration.ofNanos(System.nanoTime() - moved);
        onB.stop();

        assertThat(converged).as("time for the busy instance to hold its share after demand moved")
            .isLessThan(FAST.rebalanceInterval().multipliedBy(2).plus(FAST.syncInterval().multipliedBy(4)));
        assertThat(this.maxAlive.get()).as("objects alive in the cluster at the worst moment").isLessThanOrEqualTo(CAP);
        assertThat(this.borrowerErrors).as("borrower errors other than the pool's own timeout").isEmpty();
        assertThat(a.manager.coordinator().capacity("p").total()).isLessThanOrEqualTo(CAP);
    }

    @Test
    void aNewcomerGetsAShareAtOnceFromASaturatedCluster() throws Exception {
        Instance a = instance("a", GlobalCapacity.of(CAP), FAST);
        // A running cluster: a backend may fence a brand-new namespace for one leader-ttl first.
        awaitTrue(Duration.ofSeconds(5), "a leads", a.manager::isLeader);
        Worker onA = load(a, 2 * CAP);
        awaitTrue(Duration.ofSeconds(5), "a holds the whole cap", () -> a.pool.stats().active() == CAP);
        long joined = System.nanoTime();
        Instance b = instance("b", GlobalCapacity.of(CAP), FAST);
        awaitTrue(Duration.ofSeconds(5), "the newcomer holds its minimum share", () -> b.capacity().grant() >= 1);
        Duration served = Duration.ofNanos(System.nanoTime() - joined);
        try (Lease<Object> lease = b.pool.borrow(Duration.ofSeconds(1))) {
            assertThat(lease.get()).isNotNull();
        }
        onA.stop();
        assertThat(served).as("time until the newcomer may hold an object")
            .isLessThan(FAST.syncInterval().multipliedBy(6));
        assertThat(this.maxAlive.get()).isLessThanOrEqualTo(CAP);
        assertThat(this.borrowerErrors).isEmpty();
    }

    @Test
    void aPartitionedInstanceFallsToItsPartitionSizeBeforeItsGrantCanGoToAnother() throws Exception {
        Instance a = instance("a", new GlobalCapacity(CAP, 1), FAST);
        Outage outage = new Outage();
        Instance b = instance("b", new GlobalCapacity(CAP, 1), FAST, outage);
        Worker onB = load(b, 2 * CAP);
        awaitTrue(Duration.ofSeconds(5), "b busy with most of the cap", () -> b.capacity().grant() >= CAP - 1);
        load(a, 2 * CAP);

        outage.down.set(true);
        long lastSent = outage.lastGoodCapacityRequestSentAt.get();
        awaitTrue(Duration.ofSeconds(3), "b partitioned", () -> b.capacity().partitioned());
        long partitionedAfter = System.nanoTime() - lastSent;
        assertThat(b.pool.maxSize()).isEqualTo(1);
        assertThat(Duration.ofNanos(partitionedAfter)).as("b stopped counting on its grant before it expired")
            .isLessThan(FAST.instanceTtl());
        awaitTrue(Duration.ofSeconds(5), "a takes over b's share once it expired",
                () -> a.capacity().grant() >= CAP - 1);
        // b's borrowers return within milliseconds, so a partition size of 1 keeps the cluster at
        // the cap plus that one object at the worst moment.
        assertThat(this.maxAlive.get()).isLessThanOrEqualTo(CAP + 1);

        outage.down.set(false);
        awaitTrue(Duration.ofSeconds(5), "b back from the partition", () -> !b.capacity().partitioned());
        onB.stop();
        assertThat(this.borrowerErrors).isEmpty();
    }

    @Test
    void aStrictPartitionSizeKeepsTheCapExact() throws Exception {
        Instance a = instance("a", new GlobalCapacity(CAP, 0), FAST);
        Outage outage = new Outage();
        Instance b = instance("b", new GlobalCapacity(CAP, 0), FAST, outage);
        load(b, 2 * CAP);
        load(a, 2 * CAP);
        awaitTrue(Duration.ofSeconds(5), "both serving", () -> a.capacity().grant() >= 1 && b.capacity().grant() >= 1);
        outage.down.set(true);
        awaitTrue(Duration.ofSeconds(3), "b partitioned", () -> b.capacity().partitioned());
        assertThat(b.pool.maxSize()).isZero();
        awaitTrue(Duration.ofSeconds(5), "a holds the whole cap", () -> a.capacity().grant() == CAP);
        assertThat(this.maxAlive.get()).isLessThanOrEqualTo(CAP);
        assertThat(this.borrowerErrors).isEmpty();
    }

    @Test
    void aDeadInstancesGrantIsReclaimedWhenItExpires() throws Exception {
        Instance a = instance("a", GlobalCapacity.of(CAP), FAST);
        Outage dies = new Outage();
        Instance b = instance("b", GlobalCapacity.of(CAP), FAST, dies);
        Worker onB = load(b, 2 * CAP);
        awaitTrue(Duration.ofSeconds(5), "b holds most of the cap", () -> b.capacity().grant() >= CAP - 1);
        onB.stop();
        // A dead process holds no objects; it only fails to give its grant back.
        dies.down.set(true);
        b.pool.close();
        load(a, 2 * CAP);
        awaitTrue(Duration.ofSeconds(5), "a holds the whole cap", () -> a.capacity().grant() == CAP);
        assertThat(a.manager.coordinator().capacity("p").grants()).containsOnlyKeys(a.manager.instanceId());
        assertThat(this.maxAlive.get()).isLessThanOrEqualTo(CAP);
    }

    /**
     * A grant that no member asked for, renewed by a process that never registers (a tenant of a
     * shared server, a misconfigured process) for as long as it still holds it: the leader gives it
     * back once its holder has been absent for longer than 1.5 instance-ttl + sync-interval, and
     * the members share the whole cap again.
     */
    @Test
    void aGrantHeldByANonMemberIsGivenBackByTheLeader() throws Exception {
        Coordinator tenant = connectedClient();
        this.toClose.add(tenant);
        assertThat(tenant.requestCapacity("p", "stranger", CAP / 2, CAP, FAST.instanceTtl()).granted())
            .as("the stranger's grant").isEqualTo(CAP / 2);
        AtomicBoolean reapedSeen = new AtomicBoolean();
        Thread stranger = new Thread(() -> {
            try {
                while (!reapedSeen.get()) {
                    TimeUnit.MILLISECONDS.sleep(FAST.instanceTtl().toMillis() / 3);
                    CapacityGrant renewal = tenant.requestCapacity("p", "stranger", CAP / 2, CAP, FAST.instanceTtl());
                    if (!renewal.renewed()) {
                        // Given back meanwhile: leave, with what this last request may have taken.
                        tenant.releaseCapacity("p", "stranger");
                        reapedSeen.set(true);
                    }
                }
            }
            catch (InterruptedException | RuntimeException ex) {
                reapedSeen.set(true);
            }
        }, "stranger");
        stranger.setDaemon(true);
        stranger.start();
        try (LogCapture log = LogCapture.of(DistributedPoolManager.class)) {
            Instance a = instance("a", GlobalCapacity.of(CAP), FAST);
            Instance b = instance("b", GlobalCapacity.of(CAP), FAST);
            Worker onA = load(a, 2 * CAP);
            Worker onB = load(b, 2 * CAP);
            awaitTrue(Duration.ofSeconds(5), "a leader", () -> a.manager.isLeader() || b.manager.isLeader());
            long leading = System.nanoTime();
            awaitTrue(Duration.ofSeconds(10), "the stranger's grant given back", reapedSeen::get);
            long reaped = System.nanoTime() - leading;
            System.out.printf(java.util.Locale.ROOT, "%s: the stranger's grant given back %d ms after a leader was "
                    + "found (instance-ttl %d ms, sync %d ms)%n", getClass().getSimpleName(),
                    TimeUnit.NANOSECONDS.toMillis(reaped), FAST.instanceTtl().toMillis(), FAST.syncInterval().toMillis());
            List<String> warnings = log.messages(Level.WARN).stream().filter(line -> line.contains("'stranger'")).toList();
            assertThat(warnings).as("the leader's warnings").hasSize(1);
            assertThat(warnings.get(0)).contains("gave back the grant of pool 'p' held by 'stranger'");
            long bound = FAST.instanceTtl().toNanos() * 3 / 2 + FAST.syncInterval().toNanos() * 6
                    + FAST.instanceTtl().toNanos() / 3 + TimeUnit.SECONDS.toNanos(1);
            assertThat(reaped).as("given back within 1.5 instance-ttl + sync-interval of the first listing, plus "
                    + "the rounds it takes, the stranger's pace and 1 s for a loaded machine").isLessThan(bound);
            awaitTrue(Duration.ofSeconds(5), "the members share the whole cap",
                    () -> a.capacity().grant() + b.capacity().grant() == CAP);
            assertThat(a.manager.coordinator().capacity("p").grants()).doesNotContainKey("stranger");
            onA.stop();
            onB.stop();
        }
        stranger.join(2000);
        assertThat(this.maxAlive.get()).isLessThanOrEqualTo(CAP);
        assertThat(this.borrowerErrors).isEmpty();
    }

    @Test
    void aGracefulShutdownGivesTheGrantBackAtOnce() throws Exception {
        Instance a = instance("a", GlobalCapacity.of(CAP), FAST);
        Instance b = instance("b", GlobalCapacity.of(CAP), FAST);
        awaitTrue(Duration.ofSeconds(5), "b holds a share", () -> b.capacity().grant() >= 1);
        b.pool.close();
        b.manager.close();
        assertThat(a.manager.coordinator().capacity("p").grants()).doesNotContainKey(b.manager.instanceId());
    }

    @Test
    void aTargetWrittenUnderAnOlderTermIsIgnored() throws Exception {
        Instance a = instance("a", GlobalCapacity.of(CAP), FAST);
        awaitTrue(Duration.ofSeconds(5), "a leads", a.manager::isLeader);
        Instance b = instance("b", GlobalCapacity.of(CAP), FAST);
        // A grant follows its target one round later (the target is read in the call that renews
        // the grants), and only once the leader gave back its share: wait for both.
        awaitTrue(Duration.ofSeconds(5), "b has a target and a grant",
                () -> b.capacity().target() > 0 && b.pool.maxSize() > 0);
        long term = a.manager.leadership().orElseThrow().fencingToken();
        Coordinator backend = connectedClient();
        assertThat(backend.get(targetKey("p", b.manager.instanceId()))).as("b's target where the leader writes it")
            .isPresent();
        for (int i = 0; i < 5; i++) {
            backend.set(targetKey("p", b.manager.instanceId()),
                    ("t1 " + (term - 1) + " 0").getBytes(StandardCharsets.US_ASCII), Duration.ofSeconds(10));
            Thread.sleep(FAST.syncInterval().toMillis());
            assertThat(b.capacity().target()).as("target after a deposed leader wrote 0").isPositive();
            assertThat(b.pool.maxSize()).isPositive();
        }
    }

    @Test
    void garbageInAReportOrATargetIsSkippedAndTheClusterCarriesOn() throws Exception {
        Instance a = instance("a", GlobalCapacity.of(CAP), FAST);
        awaitTrue(Duration.ofSeconds(5), "a leads", a.manager::isLeader);
        Instance b = instance("b", GlobalCapacity.of(CAP), FAST);
        Coordinator backend = connectedClient();
        for (String junk : List.of("t1 1e5 3", "d1 -1 2 3", "t1 0x10 2", "\u0000\n", "t1 99999999999999999999 1")) {
            backend.set(targetKey("p", b.manager.instanceId()), junk.getBytes(StandardCharsets.UTF_8), null);
            backend.set(demandKey("p", b.manager.instanceId()), junk.getBytes(StandardCharsets.UTF_8), null);
            Thread.sleep(2 * FAST.syncInterval().toMillis());
        }
        Worker onB = load(b, 2 * CAP);
        awaitTrue(Duration.ofSeconds(5), "b serves with most of the cap", () -> b.capacity().grant() >= CAP - 1);
        onB.stop();
        assertThat(a.manager.status().connected()).isTrue();
        assertThat(b.manager.status().connected()).isTrue();
    }

    @Test
    void leadershipListenersAreToldOfEachTermWithItsFencingToken() throws Exception {
        Instance a = instance("a", GlobalCapacity.of(CAP), FAST);
        awaitTrue(Duration.ofSeconds(5), "a leads", a.manager::isLeader);
        List<String> events = new CopyOnWriteArrayList<>();
        Instance b = instance("b", GlobalCapacity.of(CAP), FAST);
        b.manager.addLeadershipListener(new LeadershipListener() {
            @Override
            public void leadershipGranted(LeaderLease lease) {
                events.add("granted " + lease.fencingToken());
            }

            @Override
            public void leadershipRevoked(LeaderLease lease) {
                events.add("revoked " + lease.fencingToken());
            }
        });
        long firstTerm = a.manager.leadership().orElseThrow().fencingToken();
        a.pool.close();
        a.manager.close();
        awaitTrue(Duration.ofSeconds(5), "b leads", b.manager::isLeader);
        long secondTerm = b.manager.leadership().orElseThrow().fencingToken();
        assertThat(secondTerm).isGreaterThan(firstTerm);
        // announced in the round that won the term, just after the manager began to trust it
        awaitTrue(Duration.ofSeconds(2), "the announcement", () -> !events.isEmpty());
        assertThat(events).containsExactly("granted " + secondTerm);
        b.pool.close();
        b.manager.close();
        assertThat(events).containsExactly("granted " + secondTerm, "revoked " + secondTerm);
    }

    @Test
    void elasticAndFallbackPoolsCannotBeCapped() {
        DistributedPoolManager manager = manager("a", FAST, connectedClient());
        for (Overflow overflow : List.of(Overflow.ELASTIC, Overflow.FALLBACK)) {
            Pool<Object> pool = pool("p-" + overflow, PoolSettings.DEFAULTS.toBuilder().overflow(overflow).build());
            assertThatIllegalArgumentException().isThrownBy(() -> manager.addPool(pool, 10))
                .withMessageContaining("global-max-size 10 and overflow '" + overflow.name().toLowerCase() + "'")
                .withMessageContaining("use overflow 'wait' or 'fail'");
        }
        DistributedPoolManager leaderless = manager("b", FAST.toBuilder().leaderElection(false).build(),
                connectedClient());
        assertThatIllegalArgumentException().isThrownBy(() -> leaderless.addPool(pool("q", PoolSettings.DEFAULTS), 10))
            .withMessageContaining("distributed.leader-election is false");
    }

    // ---- the cluster ---------------------------------------------------------------------------

    protected final String namespace() {
        return this.namespace;
    }

    private Instance instance(String id, GlobalCapacity capacity, DistributedSettings settings) {
        return instance(id, capacity, settings, null);
    }

    private Instance instance(String id, GlobalCapacity capacity, DistributedSettings settings,
            @Nullable Outage outage) {
        Coordinator coordinator = connectedClient();
        if (outage != null) {
            coordinator = outage.wrap(coordinator);
        }
        DistributedPoolManager manager = manager(id, settings, coordinator);
        manager.start();
        PoolSettings poolSettings = PoolSettings.DEFAULTS.toBuilder()
            .maxSize(LOCAL_MAX)
            .minIdle(2)
            .overflow(Overflow.WAIT)
            .borrowTimeout(Duration.ofMillis(50))
            .build();
        Pool<Object> pool = manager.createPool(countedSpec("p"), poolSettings, capacity);
        this.toClose.add(pool);
        return new Instance(manager, pool);
    }

    private DistributedPoolManager manager(String id, DistributedSettings settings, Coordinator coordinator) {
        this.toClose.add(coordinator);
        DistributedPoolManager manager = Managers.create(
                new ActiveCoordinator(coordinator.name(), coordinator, null), settings,
                new InstanceInfo(id + "-" + UUID.randomUUID().toString().substring(0, 4), "test-host", 1L, Map.of()));
        this.toClose.add(manager);
        return manager;
    }

    private Pool<Object> pool(String name, PoolSettings settings) {
        Pool<Object> pool = Pool.create(countedSpec(name), settings);
        this.toClose.add(pool);
        return pool;
    }

    /** Objects of every instance's pool, counted alive from creation until their destroy returned. */
    private PoolSpec<Object> countedSpec(String name) {
        return PoolSpec.of(name, this::newObject).withDestroy(object -> this.alive.decrementAndGet());
    }

    private Object newObject() {
        this.maxAlive.accumulateAndGet(this.alive.incrementAndGet(), Math::max);
        return new Object();
    }

    /** {@code threads} borrowers that each hold an object for 2 ms, again and again. */
    private Worker load(Instance instance, int threads) {
        Worker worker = new Worker(instance.pool, threads);
        this.workers.add(worker);
        return worker;
    }

    private static void awaitTrue(Duration atMost, String what, BooleanSupplier condition)
            throws InterruptedException {
        long deadline = System.nanoTime() + atMost.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime() - deadline).as("waited " + atMost + " for " + what).isNegative();
            Thread.sleep(5);
        }
    }

    private record Instance(DistributedPoolManager manager, Pool<Object> pool) {

        PoolCapacity capacity() {
            return capacityOfP(this.manager);
        }
    }

    /** Pool p's capacity as {@code manager} reports it: every instance of these cases has that pool. */
    private static PoolCapacity capacityOfP(DistributedPoolManager manager) {
        PoolCapacity capacity = manager.status().pools().get("p");
        if (capacity == null) {
            throw new AssertionError("the manager of " + manager.instanceId() + " reports no pool 'p'");
        }
        return capacity;
    }

    private final class Worker {

        private final AtomicBoolean running = new AtomicBoolean(true);

        private final List<Thread> threads = new ArrayList<>();

        Worker(Pool<Object> pool, int count) {
            for (int i = 0; i < count; i++) {
                Thread thread = new Thread(() -> {
                    while (this.running.get()) {
                        try (Lease<Object> lease = pool.borrow()) {
                            TimeUnit.MILLISECONDS.sleep(2);
                        }
                        catch (PoolExhaustedException ex) {
                            // the pool's own timeout: expected while the share is small
                        }
                        catch (InterruptedException ex) {
                            return;
                        }
                        catch (IllegalStateException ex) {
                            if (!this.running.get()) {
                                return;
                            }
                            ClusterCapacityContract.this.borrowerErrors.add(ex);
                        }
                        catch (RuntimeException ex) {
                            ClusterCapacityContract.this.borrowerErrors.add(ex);
                        }
                    }
                }, "borrower-" + pool.name() + "-" + i);
                thread.setDaemon(true);
                thread.start();
                this.threads.add(thread);
            }
        }

        void stop() throws InterruptedException {
            this.running.set(false);
            for (Thread thread : this.threads) {
                thread.join(2000);
            }
        }
    }

    /** A coordinator client that can be cut off, as a network partition would. */
    private static final class Outage {

        final AtomicBoolean down = new AtomicBoolean();

        final AtomicLong lastGoodCapacityRequestSentAt = new AtomicLong();

        Coordinator wrap(Coordinator coordinator) {
            return new ForwardingCoordinator(coordinator) {
                @Override
                protected void before(String operation) {
                    if (Outage.this.down.get()) {
                        throw new CoordinatorException("partitioned from the test backend");
                    }
                    if (operation.equals("requestCapacity")) {
                        Outage.this.lastGoodCapacityRequestSentAt.set(System.nanoTime());
                    }
                }
            };
        }
    }

    /**
     * Where the manager keeps the leader's target for an instance, and the format it writes
     * ({@code "t1 <term> <target>"}), spelled out here as another writer would see them: the
     * cases above plant records in it as a deposed leader or a stranger would.
     */
    private static String targetKey(String pool, String instanceId) {
        return "pivot.capacity:" + pool + ":target:" + instanceId;
    }

    /** Where the manager keeps an instance's demand report ({@code "d1 <demand> <max-size> <grant>"}). */
    private static String demandKey(String pool, String instanceId) {
        return "pivot.capacity:" + pool + ":demand:" + instanceId;
    }
}
