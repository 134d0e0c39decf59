package io.pivotpool.distributed;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import ch.qos.logback.classic.Level;
import io.pivotpool.coordinator.CapacityGrant;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.coordinator.NoOpCoordinator;
import io.pivotpool.coordinator.SyncRound;
import io.pivotpool.distributed.internal.ActiveCoordinator;
import io.pivotpool.distributed.internal.CoordinatorSelection;
import io.pivotpool.distributed.internal.Managers;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolSettings;
import io.pivotpool.pool.PoolSpec;
import io.pivotpool.testsupport.LogCapture;
import io.pivotpool.testsupport.contract.ForwardingCoordinator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.awaitility.Awaitility.await;

class DistributedPoolManagerTests {

    /** Fast enough for tests; the step-down margin is then one sync interval (100 ms). */
    private static final DistributedSettings FAST = DistributedSettings.builder()
        .syncInterval(Duration.ofMillis(100))
        .leaderTtl(Duration.ofSeconds(1))
        .build();

    /**
     * For the step-down tests: the margin is one sync interval (250 ms), so the backend's lease
     * visibly outlives the leader's own trust in it even on a loaded machine.
     */
    private static final DistributedSettings STEP_DOWN = DistributedSettings.builder()
        .syncInterval(Duration.ofMillis(250))
        .leaderTtl(Duration.ofSeconds(1))
        .build();

    private final List<AutoCloseable> toClose = new ArrayList<>();

    private final NoOpCoordinator backend = new NoOpCoordinator();

    @AfterEach
    void closeEverything() throws Exception {
        for (int i = this.toClose.size() - 1; i >= 0; i--) {
            this.toClose.get(i).close();
        }
    }

    @Test
    void statusBeforeStartShowsTheSelectionButNoSynchronisation() {
        DistributedPoolManager manager = manager(this.backend, FAST, "a");
        CoordinationStatus status = manager.status();
        assertThat(status.instanceId()).isEqualTo("a");
        assertThat(status.requestedBackend()).isEqualTo("noop");
        assertThat(status.activeBackend()).isEqualTo("noop");
        assertThat(status.connected()).isFalse();
        assertThat(status.members()).isEmpty();
        assertThat(status.isLeader()).isFalse();
        assertThat(status.lastSync()).isNull();
        assertThat(status.lastError()).isNull();
    }

    @Test
    void startOnNoOpShouldRegisterAndLeadAtOnce() {
        ActiveCoordinator selected = CoordinatorSelection.select(DistributedSettings.DEFAULTS, List.of());
        this.toClose.add(selected);
        InstanceInfo self = DistributedPoolManager.localInstance(Map.of("application", "test"));
        DistributedPoolManager manager = new DistributedPoolManager(selected, DistributedSettings.DEFAULTS, self);
        this.toClose.add(manager);
        Instant before = Instant.now();
        manager.start();
        CoordinationStatus status = manager.status();
        assertThat(status.instanceId()).isEqualTo(self.id()).isEqualTo(manager.instanceId());
        assertThat(status.requestedBackend()).isEqualTo("none");
        assertThat(status.activeBackend()).isEqualTo("noop");
        assertThat(status.fallbackReason()).isNull();
        assertThat(status.connected()).isTrue();
        assertThat(status.members()).containsExactly(self);
        assertThat(status.isLeader()).isTrue();
        assertThat(manager.isLeader()).isTrue();
        assertThat(status.leaderId()).isEqualTo(self.id());
        assertThat(status.fencingToken()).isPositive();
        assertThat(status.lastSync()).isAfterOrEqualTo(before.minusMillis(1));
        assertThat(status.lastError()).isNull();
        assertThat(selected.coordinator().liveInstances()).containsExactly(self);
    }

    @Test
    void aManagerOverAPlainCoordinatorConnectsItAndNamesItAsRequested() {
        NoOpCoordinator coordinator = new NoOpCoordinator();
        this.toClose.add(coordinator);
        DistributedPoolManager manager = new DistributedPoolManager(coordinator, DistributedSettings.DEFAULTS,
                instance("a"));
        this.toClose.add(manager);
        assertThat(coordinator.isConnected()).as("connected by the constructor").isTrue();
        assertThat(manager.coordinator()).isSameAs(coordinator);
        manager.start();
        CoordinationStatus status = manager.status();
        assertThat(status.requestedBackend()).isEqualTo("noop");
        assertThat(status.activeBackend()).isEqualTo("noop");
        assertThat(status.fallbackReason()).isNull();
        assertThat(status.isLeader()).isTrue();
    }

    @Test
    void statusShowsTheFallbackReasonOfTheSelection() {
        DistributedSettings settings = DistributedSettings.builder().enabled(true).coordination("etcd").build();
        ActiveCoordinator selected = CoordinatorSelection.select(settings, List.of());
        this.toClose.add(selected);
        DistributedPoolManager manager = Managers.create(selected, settings, instance("a"));
        this.toClose.add(manager);
        manager.start();
        CoordinationStatus status = manager.status();
        assertThat(status.requestedBackend()).isEqualTo("etcd");
        assertThat(status.activeBackend()).isEqualTo("noop");
        assertThat(status.fallbackReason()).contains("no coordinator named 'etcd'");
        assertThat(status.isLeader()).isTrue();
    }

    @Test
    void aLeaderSeeingInstancesOfOtherApplicationsInItsNamespaceReportsThemAndWarnsOnce() {
        try (LogCapture logs = LogCapture.everything()) {
            DistributedPoolManager orders = member("a", Map.of("application", "orders"));
            orders.start();
            await().atMost(Duration.ofSeconds(5)).until(orders::isLeader);
            member("b", Map.of("application", "orders")).start();
            assertThat(orders.status().foreignApplications()).isEmpty();
            member("c", Map.of("application", "billing")).start();
            member("d", Map.of()).start();
            await().atMost(Duration.ofSeconds(5))
                .until(() -> orders.status().foreignApplications().equals(List.of("(unnamed)", "billing")));
            sleep(FAST.syncInterval().multipliedBy(5));
            assertThat(logs.messages(Level.WARN, "io.pivotpool").stream()
                .filter(warning -> warning.contains("Instances of other applications"))).singleElement()
                .asString()
                .contains("((unnamed), billing) share namespace")
                .contains("with 'orders'")
                .contains("distributed.namespace");
        }
    }

    private DistributedPoolManager member(String id, Map<String, String> metadata) {
        DistributedPoolManager manager = new DistributedPoolManager(new ActiveCoordinator(this.backend.name(),
                this.backend, null), FAST, new InstanceInfo(id, "test-host", 1L, metadata));
        this.toClose.add(manager);
        return manager;
    }

    @Test
    void closeShouldReleaseLeadershipAndUnregisterAndBeIdempotent() {
        DistributedPoolManager manager = manager(this.backend, FAST, "a");
        manager.start();
        assertThat(this.backend.currentLeader()).map(LeaderLease::holderId).contains("a");
        manager.close();
        assertThat(this.backend.liveInstances()).isEmpty();
        assertThat(this.backend.currentLeader()).as("leadership released, not left to lapse").isEmpty();
        assertThat(manager.isLeader()).isFalse();
        manager.close();
        assertThatIllegalStateException().isThrownBy(manager::start).withMessageContaining("is closed");
    }

    @Test
    void closeShouldStopTheSchedulerThread() {
        DistributedPoolManager manager = manager(this.backend, FAST, "a");
        manager.start();
        assertThat(coordinationThreads()).isPositive();
        manager.close();
        await().atMost(Duration.ofSeconds(2)).until(() -> coordinationThreads() == 0);
    }

    @Test
    void closeWithoutStartDoesNothing() {
        DistributedPoolManager manager = manager(this.backend, FAST, "a");
        manager.close();
        assertThat(this.backend.liveInstances()).isEmpty();
    }

    @Test
    void startTwiceStartsOnce() {
        DistributedPoolManager manager = manager(this.backend, FAST, "a");
        manager.start();
        manager.start();
        manager.close();
        await().atMost(Duration.ofSeconds(2)).until(() -> coordinationThreads() == 0);
    }

    @Test
    void heartbeatsKeepTheInstanceRegisteredBeyondItsTtl() {
        DistributedPoolManager manager = manager(this.backend, FAST, "a");
        manager.start();
        sleep(FAST.instanceTtl().multipliedBy(2));
        assertThat(this.backend.liveInstances()).extracting(InstanceInfo::id).containsExactly("a");
        assertThat(manager.isLeader()).isTrue();
    }

    @Test
    void anotherInstancesLeadershipShowsInTheStatusUntilItEnds() {
        LeaderLease other = this.backend.tryAcquireLeadership("other", Duration.ofMinutes(1)).orElseThrow();
        DistributedPoolManager manager = manager(this.backend, FAST, "a");
        manager.start();
        CoordinationStatus status = manager.status();
        assertThat(status.isLeader()).isFalse();
        assertThat(status.leaderId()).isEqualTo("other");
        assertThat(status.fencingToken()).isEqualTo(other.fencingToken());
        this.backend.releaseLeadership("other", other.fencingToken());
        await().atMost(Duration.ofSeconds(2)).until(manager::isLeader);
        assertThat(manager.status().fencingToken()).isGreaterThan(other.fencingToken());
        assertThat(manager.status().leaderId()).isEqualTo("a");
    }

    @Test
    void withoutLeaderElectionTheInstanceNeverLeads() {
        DistributedSettings settings = FAST.toBuilder().leaderElection(false).build();
        DistributedPoolManager manager = manager(this.backend, settings, "a");
        manager.start();
        sleep(Duration.ofMillis(300));
        assertThat(manager.status().isLeader()).isFalse();
        assertThat(manager.status().leaderId()).isNull();
        assertThat(manager.status().fencingToken()).isZero();
        assertThat(this.backend.currentLeader()).isEmpty();
    }

    @Test
    void twoInstancesSeeEachOtherAndOnlyOneLeadsUntilItLeaves() {
        DistributedPoolManager first = manager(this.backend, FAST, "a");
        DistributedPoolManager second = manager(this.backend, FAST, "b");
        first.start();
        second.start();
        await().atMost(Duration.ofSeconds(2))
            .untilAsserted(() -> assertThat(first.status().members()).extracting(InstanceInfo::id)
                .containsExactly("a", "b"));
        assertThat(first.isLeader()).isTrue();
        assertThat(second.isLeader()).isFalse();
        assertThat(second.status().leaderId()).isEqualTo("a");
        long firstTerm = first.status().fencingToken();
        first.close();
        await().atMost(Duration.ofSeconds(2)).until(second::isLeader);
        assertThat(second.status().fencingToken()).isGreaterThan(firstTerm);
        await().atMost(Duration.ofSeconds(2))
            .untilAsserted(() -> assertThat(second.status().members()).extracting(InstanceInfo::id)
                .containsExactly("b"));
    }

    @Test
    void failingBackendNeverStopsTheSchedulerAndTheInstanceRejoinsWhenItReturns() {
        FlakyCoordinator flaky = new FlakyCoordinator(this.backend);
        DistributedPoolManager manager = manager(flaky, FAST, "a");
        try (LogCapture log = LogCapture.of(DistributedPoolManager.class)) {
            manager.start();
            Instant firstSync = manager.status().lastSync();
            assertThat(manager.status().connected()).isTrue();

            flaky.failing.set(true);
            await().atMost(Duration.ofSeconds(2)).until(() -> !manager.status().connected());
            int failedCalls = flaky.failedCalls.get();
            await().atMost(Duration.ofSeconds(2)).until(() -> flaky.failedCalls.get() >= failedCalls + 3);
            CoordinationStatus down = manager.status();
            assertThat(down.lastError()).isEqualTo("test backend is down (CoordinatorException)");
            assertThat(down.lastSync()).as("last successful sync kept").isAfterOrEqualTo(firstSync);
            assertThat(down.members()).as("last members seen kept").extracting(InstanceInfo::id).containsExactly("a");
            assertThat(log.messages(Level.WARN)).as("one warning for the whole outage").singleElement()
                .asString()
                .contains("could not synchronise with coordinator 'noop'")
                .contains("test backend is down");

            // The outage also lost this instance's registration, as a restarted server would.
            this.backend.unregister("a");
            flaky.failing.set(false);
            await().atMost(Duration.ofSeconds(2)).until(() -> manager.status().connected());
            CoordinationStatus back = manager.status();
            assertThat(back.lastError()).isNull();
            assertThat(back.lastSync()).isAfter(down.lastSync());
            assertThat(this.backend.liveInstances()).extracting(InstanceInfo::id).containsExactly("a");
            assertThat(back.members()).extracting(InstanceInfo::id).containsExactly("a");
            await().atMost(Duration.ofSeconds(2)).until(manager::isLeader);
            assertThat(log.messages(Level.INFO)).anyMatch(message -> message.contains("coordinating through 'noop' again"));
        }
    }

    @Test
    void startWithAFailingBackendRecordsTheErrorInsteadOfThrowing() {
        FlakyCoordinator flaky = new FlakyCoordinator(this.backend);
        flaky.failing.set(true);
        DistributedPoolManager manager = manager(flaky, FAST, "a");
        manager.start();
        assertThat(manager.status().connected()).isFalse();
        assertThat(manager.status().lastError()).contains("test backend is down");
        assertThat(manager.status().lastSync()).isNull();
        flaky.failing.set(false);
        await().atMost(Duration.ofSeconds(2)).until(manager::isLeader);
        assertThat(this.backend.liveInstances()).extracting(InstanceInfo::id).containsExactly("a");
    }

    @Test
    void leaderStepsDownBeforeItsLeaseEndsWhenRenewalsFail() {
        FlakyCoordinator flaky = new FlakyCoordinator(this.backend);
        DistributedPoolManager manager = manager(flaky, STEP_DOWN, "a");
        manager.start();
        await().atMost(Duration.ofSeconds(2)).until(manager::isLeader);
        flaky.failing.set(true);
        long lastRenewalSent = awaitStepDown(manager, flaky);
        assertThat(this.backend.currentLeader()).as("the lease still held by the backend when stepping down")
            .map(LeaderLease::holderId)
            .contains("a");
        assertSteppedDownInTime(lastRenewalSent);
    }

    @Test
    void leaderStepsDownBeforeItsLeaseEndsWhileARenewalHangs() {
        FlakyCoordinator flaky = new FlakyCoordinator(this.backend);
        DistributedPoolManager manager = manager(flaky, STEP_DOWN, "a");
        manager.start();
        await().atMost(Duration.ofSeconds(2)).until(manager::isLeader);
        flaky.hanging.set(true);
        long lastRenewalSent = awaitStepDown(manager, flaky);
        assertThat(flaky.hangingCalls.get()).as("a call is stuck right now").isPositive();
        assertThat(this.backend.currentLeader()).map(LeaderLease::holderId).contains("a");
        assertSteppedDownInTime(lastRenewalSent);
        assertThat(manager.status().isLeader()).isFalse();
        flaky.hanging.set(false);
    }

    /** Polls until the manager stops calling itself leader; returns when the last good renewal was sent. */
    private long awaitStepDown(DistributedPoolManager manager, FlakyCoordinator flaky) {
        long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        while (manager.isLeader()) {
            assertThat(System.nanoTime() - deadline).as("still leader after 3 s").isNegative();
            Thread.onSpinWait();
        }
        return flaky.lastGoodRenewalSentAt.get();
    }

    private void assertSteppedDownInTime(long lastRenewalSent) {
        Duration sinceRenewal = Duration.ofNanos(System.nanoTime() - lastRenewalSent);
        assertThat(sinceRenewal).as("stepped down before leader-ttl ran out").isLessThan(STEP_DOWN.leaderTtl());
        assertThat(sinceRenewal).as("kept leading while the lease was safe")
            .isGreaterThanOrEqualTo(STEP_DOWN.leaderTtl().minus(STEP_DOWN.syncInterval()).minusMillis(20));
    }

    @Test
    void addPoolRecordsTheGlobalMaximumAndTheFirstGrantInTheStatus() {
        DistributedPoolManager manager = manager(this.backend, FAST, "a");
        manager.addPool(pool("renderers"), 100);
        manager.addPool(pool("clients"), new GlobalCapacity(8, 2));
        assertThat(manager.status().pools()).containsOnlyKeys("clients", "renderers");
        PoolCapacity clients = manager.status().pools().get("clients");
        assertThat(clients.globalMaxSize()).isEqualTo(8);
        assertThat(clients.partitionSize()).isEqualTo(2);
        // Alone in the cluster, with max-size 10 (the defaults): the whole cap of 8.
        assertThat(clients.grant()).isEqualTo(8);
        assertThat(clients.limit()).isEqualTo(8);
        assertThat(clients.partitioned()).isFalse();
        assertThat(manager.status().pools().get("renderers").grant()).isEqualTo(10);
    }

    @Test
    void anErrorOnTheSynchronisingThreadIsReportedAndTheRoundsGoOn() {
        AtomicInteger errors = new AtomicInteger(1);
        Coordinator erring = new ForwardingCoordinator(this.backend) {
            @Override
            protected void before(String operation) {
                if (operation.equals("heartbeat") && errors.getAndDecrement() > 0) {
                    throw new StackOverflowError("planted on the sync thread");
                }
            }
        };
        DistributedPoolManager manager = manager(erring, FAST, "a");
        manager.start();
        await().atMost(Duration.ofSeconds(2)).until(() -> manager.status().lastError() != null
                || errors.get() < 0);
        await().atMost(Duration.ofSeconds(2)).until(() -> errors.get() < 0 && manager.status().connected()
                && manager.status().lastError() == null);
    }

    @Test
    void aRoundStuckInACallStopsClaimingAHealthyConnectionAfterInstanceTtl() {
        FlakyCoordinator stuck = new FlakyCoordinator(this.backend);
        DistributedPoolManager manager = manager(stuck, FAST, "a");
        manager.start();
        assertThat(manager.status().connected()).isTrue();
        stuck.hanging.set(true);
        try {
            await().atMost(FAST.instanceTtl().plusSeconds(1)).until(() -> !manager.status().connected());
            assertThat(manager.status().lastError()).contains("no synchronisation has completed");
        }
        finally {
            stuck.hanging.set(false);
        }
        await().atMost(Duration.ofSeconds(2)).until(() -> manager.status().connected());
    }

    /**
     * The leader's reaping of non-members' grants counts on it ({@code NonMemberGrants}): a pool
     * created before start registers the instance before its first request, and a pool added
     * between rounds, long after the last heartbeat, heartbeats first.
     */
    @Test
    void everyGrantIsAskedForWithinHalfAnInstanceTtlOfARegistration() {
        DistributedSettings settings = DistributedSettings.builder()
            .syncInterval(Duration.ofMillis(100))
            .instanceTtl(Duration.ofMillis(2000))
            .leaderTtl(Duration.ofSeconds(1))
            .build();
        List<Call> recorded = new CopyOnWriteArrayList<>();
        AtomicBoolean quiet = new AtomicBoolean();
        Coordinator recording = new ForwardingCoordinator(this.backend) {
            @Override
            protected void before(String operation) {
                if (quiet.get() && !Thread.currentThread().getName().equals("main")) {
                    throw new CoordinatorException("the rounds are held back by the test");
                }
                recorded.add(new Call(operation, System.nanoTime()));
            }
        };
        DistributedPoolManager manager = manager(recording, settings, "a");
        this.toClose.add(manager.createPool(PoolSpec.of("early", Object::new), PoolSettings.DEFAULTS,
                GlobalCapacity.of(4)));
        manager.start();
        sleep(Duration.ofMillis(300));
        // No round reaches the backend for longer than half the instance-ttl: the next request
        // must renew the registration first.
        quiet.set(true);
        sleep(Duration.ofMillis(1200));
        this.toClose.add(manager.createPool(PoolSpec.of("late", Object::new), PoolSettings.DEFAULTS,
                GlobalCapacity.of(4)));
        quiet.set(false);
        sleep(Duration.ofMillis(300));
        // The rounds go on: read a copy.
        List<Call> calls = List.copyOf(recorded);
        List<String> operations = calls.stream().map(Call::operation).toList();
        int firstRequest = operations.indexOf("requestCapacity");
        assertThat(firstRequest).as("a first request").isNotNegative();
        assertThat(operations.subList(0, firstRequest)).as("before the first request").contains("register");
        long registeredAt = Long.MIN_VALUE;
        int requests = 0;
        for (Call call : calls) {
            if (call.operation().equals("register") || call.operation().equals("heartbeat")) {
                registeredAt = call.atNanos();
            }
            else if (call.operation().equals("requestCapacity")) {
                requests++;
                assertThat(call.atNanos() - registeredAt).as("request %d: nanos since the last registration", requests)
                    .isLessThanOrEqualTo(settings.instanceTtl().toNanos() / 2);
            }
        }
        assertThat(requests).isGreaterThan(2);
    }

    @Test
    void afterAFallbackACappedPoolHoldsNoMoreThanItsPartitionSize() {
        DistributedPoolManager manager = new DistributedPoolManager(new ActiveCoordinator("redis", this.backend,
                "Coordination backend 'redis' is not available"), FAST, instance("a"));
        this.toClose.add(manager);
        Pool<Object> pool = manager.createPool(PoolSpec.of("clients", Object::new), PoolSettings.DEFAULTS,
                new GlobalCapacity(8, 2));
        this.toClose.add(pool);
        // Alone on the no-op coordinator it knows no other instance: the whole cap would be a guess.
        assertThat(pool.maxSize()).isEqualTo(2);
        assertThat(manager.status().pools().get("clients").grant()).isEqualTo(2);
    }

    @Test
    void aBackendDownAtStartUpIsConnectedByALaterRoundAndTheInstanceJoinsThen() {
        DownAtStartUp late = new DownAtStartUp(this.backend);
        ActiveCoordinator active = CoordinatorSelection.use(late, FAST);
        assertThat(active.coordinator()).as("kept, not replaced by the no-op one").isSameAs(late);
        DistributedPoolManager manager = new DistributedPoolManager(active, FAST, instance("a"));
        this.toClose.add(manager);
        Pool<Object> pool = manager.createPool(PoolSpec.of("clients", Object::new), PoolSettings.DEFAULTS,
                new GlobalCapacity(8, 8));
        this.toClose.add(pool);
        manager.start();
        assertThat(manager.status().connected()).isFalse();
        assertThat(manager.status().lastError()).contains("test backend is down");
        // A newcomer that never reached its backend has no grant to keep: it holds nothing, even
        // with a partition size of the whole cap, rather than guess that it is alone.
        assertThat(pool.maxSize()).isZero();
        sleep(FAST.syncInterval().multipliedBy(3));
        assertThat(late.connects.get()).as("every round tries to connect").isGreaterThan(2);
        late.down.set(false);
        await().atMost(Duration.ofSeconds(3)).until(() -> manager.status().connected() && pool.maxSize() == 8);
        assertThat(manager.status().isLeader()).isTrue();
        int connects = late.connects.get();
        sleep(FAST.syncInterval().multipliedBy(3));
        assertThat(late.connects.get()).as("connected once, never again").isEqualTo(connects);
    }

    @Test
    void aLeaderWarnsOnceWhenItsMembersCanNeverHoldTheCapTogether() {
        DistributedSettings often = FAST.toBuilder().rebalanceInterval(Duration.ofMillis(200)).build();
        try (LogCapture log = LogCapture.of(DistributedPoolManager.class)) {
            DistributedPoolManager manager = manager(this.backend, often, "a");
            Pool<Object> small = Pool.create(PoolSpec.of("small", Object::new), PoolSettings.builder().maxSize(3).build());
            this.toClose.add(small);
            manager.addPool(small, new GlobalCapacity(10, 10));
            Pool<Object> fits = Pool.create(PoolSpec.of("fits", Object::new), PoolSettings.builder().maxSize(3).build());
            this.toClose.add(fits);
            manager.addPool(fits, new GlobalCapacity(3, 3));
            manager.start();
            await().atMost(Duration.ofSeconds(2)).until(() -> manager.status().rebalances() >= 5);
            assertThat(log.messages(Level.WARN)).as("one warning over five rebalances, for the pool whose cap is out of reach")
                .singleElement().asString()
                .isEqualTo("Pool 'small': its global-max-size 10 is more than its 1 instance(s) can ever hold together "
                        + "(the sum of their max-size is 3), so the cap limits nothing; lower global-max-size or "
                        + "raise max-size");
        }
    }

    /**
     * Where holders race for the ledger, the leader raises the grants of the targets a rebalance
     * raised, with the targets in their order, a round after it wrote them (a follower that had
     * not read its new target yet would give a raised grant back at once); where they do not race
     * (a backend that counts no conflicts), it never calls.
     */
    @Test
    void aLeaderRaisesTheGrantsOfTheTargetsItRaisedARoundAfterWritingThemWhereHoldersRace() {
        List<Call> targetsWritten = new CopyOnWriteArrayList<>();
        List<Call> raised = new CopyOnWriteArrayList<>();
        List<Map<String, Integer>> raisedTo = new CopyOnWriteArrayList<>();
        Coordinator racing = new Racing(this.backend) {
            @Override
            public void setAll(Map<String, byte[]> values, Duration ttl) {
                targetsWritten.add(new Call(String.join(",", values.keySet()), System.nanoTime()));
                super.setAll(values, ttl);
            }

            @Override
            public int growGrants(String pool, int globalMaxSize, Map<String, Integer> targets) {
                raised.add(new Call(pool, System.nanoTime()));
                raisedTo.add(Map.copyOf(targets));
                return 0;
            }
        };
        DistributedPoolManager a = manager(racing, FAST, "a");
        a.addPool(pool("clients"), 8);
        a.start();
        await().atMost(Duration.ofSeconds(2)).until(() -> a.status().isLeader());
        DistributedPoolManager b = manager(racing, FAST, "b");
        b.addPool(pool("clients"), 8);
        b.start();
        await().atMost(Duration.ofSeconds(3)).until(() -> raisedTo.stream().anyMatch(targets -> targets.containsKey("b")));
        int first = 0;
        while (!raisedTo.get(first).containsKey("b")) {
            first++;
        }
        Map<String, Integer> targets = raisedTo.get(first);
        assertThat(targets.keySet()).containsExactlyInAnyOrder("a", "b");
        assertThat(targets.values().stream().mapToInt(Integer::intValue).sum()).isLessThanOrEqualTo(8);
        long raisedAt = raised.get(first).atNanos();
        long bTargetWrittenAt = targetsWritten.stream().filter(call -> call.operation().contains(":b"))
            .mapToLong(Call::atNanos).min().orElseThrow();
        assertThat(raisedAt - bTargetWrittenAt).as("nanos from writing b's target to raising its grant")
            .isGreaterThanOrEqualTo(FAST.syncInterval().toNanos() * 3 / 4);

        List<Call> neverRaised = new CopyOnWriteArrayList<>();
        NoOpCoordinator calm = new NoOpCoordinator();
        Coordinator notRacing = new ForwardingCoordinator(calm) {
            @Override
            public int growGrants(String pool, int globalMaxSize, Map<String, Integer> grown) {
                neverRaised.add(new Call(pool, System.nanoTime()));
                return 0;
            }
        };
        DistributedSettings often = FAST.toBuilder().rebalanceInterval(Duration.ofMillis(200)).build();
        DistributedPoolManager c = manager(notRacing, often, "c");
        c.addPool(pool("clients"), 8);
        c.start();
        DistributedPoolManager d = manager(notRacing, often, "d");
        d.addPool(pool("clients"), 8);
        d.start();
        await().atMost(Duration.ofSeconds(3)).until(() -> c.status().rebalances() >= 3);
        assertThat(neverRaised).isEmpty();
    }

    /**
     * Where the leader raises grants, a pool created while another instance leads asks for nothing
     * at first, racing nobody for the ledger, and takes its share once the leader's rebalance gives
     * it a target; the first instance, which nobody else leads, asks for its share at once.
     */
    @Test
    void aPoolCreatedWhileAnotherInstanceLeadsLeavesItsFirstGrantToTheLeader() {
        Map<String, List<Integer>> asked = new ConcurrentHashMap<>();
        Coordinator racing = new Racing(this.backend) {
            @Override
            public CapacityGrant requestCapacity(String pool, String instanceId, int requested, int globalMaxSize,
                    Duration ttl) {
                asked.computeIfAbsent(instanceId, id -> new CopyOnWriteArrayList<>()).add(requested);
                return super.requestCapacity(pool, instanceId, requested, globalMaxSize, ttl);
            }
        };
        DistributedPoolManager a = manager(racing, FAST, "a");
        Pool<Object> first = a.createPool(PoolSpec.of("clients", Object::new), PoolSettings.DEFAULTS, GlobalCapacity.of(8));
        this.toClose.add(first);
        assertThat(asked.get("a")).as("a's first request").first().isEqualTo(8);
        assertThat(first.maxSize()).isEqualTo(8);
        a.start();
        await().atMost(Duration.ofSeconds(2)).until(() -> a.status().isLeader());
        DistributedPoolManager b = manager(racing, FAST, "b");
        Pool<Object> second = b.createPool(PoolSpec.of("clients", Object::new), PoolSettings.DEFAULTS,
                GlobalCapacity.of(8));
        this.toClose.add(second);
        assertThat(asked.get("b")).as("b's requests before it started").isNotEmpty().containsOnly(0);
        assertThat(second.maxSize()).isZero();
        b.start();
        await().atMost(Duration.ofSeconds(3)).until(() -> b.status().pools().get("clients").grant() == 4
                && second.maxSize() == 4);
    }

    /**
     * A pool that asked for nothing at first and is given no target (its leader does not know the
     * pool) asks for a fair share on its own once a rebalance-interval and two rounds have passed,
     * never before: without that it would hold nothing for good.
     */
    @Test
    void aPoolLeftToALeaderThatGivesItNoTargetAsksForAShareOnItsOwn() {
        DistributedSettings settings = FAST.toBuilder().rebalanceInterval(Duration.ofMillis(500)).build();
        Coordinator racing = new Racing(this.backend);
        DistributedPoolManager a = manager(racing, settings, "a");
        a.addPool(pool("others"), 8);
        a.start();
        await().atMost(Duration.ofSeconds(2)).until(() -> a.status().isLeader());
        DistributedPoolManager b = manager(racing, settings, "b");
        long createdAt = System.nanoTime();
        Pool<Object> pool = b.createPool(PoolSpec.of("clients", Object::new), PoolSettings.DEFAULTS, GlobalCapacity.of(8));
        this.toClose.add(pool);
        assertThat(pool.maxSize()).isZero();
        b.start();
        await().atMost(Duration.ofSeconds(3)).until(() -> pool.maxSize() > 0);
        assertThat(System.nanoTime() - createdAt).as("nanos from creating the pool to a share of it")
            .isGreaterThanOrEqualTo(settings.rebalanceInterval().toNanos() + 2 * settings.syncInterval().toNanos());
        assertThat(b.status().pools().get("clients").target()).as("no target").isNegative();
    }

    /**
     * A follower whose target rose lets the leader raise its grant: its next round's request says
     * its growth may wait; once its grant has reached its target (here the backend ignores the
     * flag and grants at once) it no longer does.
     */
    @Test
    void aFollowerWhoseTargetRoseLetsItsGrowthWaitForTheLeaderUntilItHasGrown() {
        List<Boolean> bMayWait = new CopyOnWriteArrayList<>();
        Coordinator racing = new Racing(this.backend) {
            @Override
            public SyncRound.Reply round(SyncRound round) {
                if (round.instance().id().equals("b")) {
                    round.capacity().forEach(request -> bMayWait.add(request.growthMayWait()));
                }
                return super.round(round);
            }
        };
        DistributedPoolManager a = manager(racing, FAST, "a");
        a.addPool(pool("clients"), 8);
        a.start();
        await().atMost(Duration.ofSeconds(2)).until(() -> a.status().isLeader());
        assertThat(a.status().pools().get("clients").grant()).isEqualTo(8);
        DistributedPoolManager b = manager(racing, FAST, "b");
        b.addPool(pool("clients"), 8);
        b.start();
        await().atMost(Duration.ofSeconds(3)).until(() -> b.status().pools().get("clients").grant() == 4);
        int waited = bMayWait.indexOf(true);
        assertThat(waited).as("a round of b whose growth waited for the leader").isNotNegative();
        await().atMost(Duration.ofSeconds(1)).until(() -> bMayWait.subList(waited, bMayWait.size()).contains(false));
        assertThat(bMayWait.stream().filter(Boolean::booleanValue).count()).as("rounds of b that waited")
            .isLessThanOrEqualTo(2);
    }

    /**
     * A follower the leader raises a little at a time (capacity given back slowly, as in a rolling
     * deploy) goes on waiting for as long as it is being raised, past the window counted from its
     * target's rise: racing the others for the rest had made the leader's raising lose. Here the
     * backend stands in for the leader, raising the waiting grant by one every third round.
     */
    @Test
    void aFollowerRaisedLittleByLittleWaitsForAsLongAsTheLeaderRaisesIt() {
        List<Boolean> bMayWait = new CopyOnWriteArrayList<>();
        AtomicInteger held = new AtomicInteger();
        AtomicInteger waitingRounds = new AtomicInteger();
        AtomicInteger roundsToTarget = new AtomicInteger(-1);
        Coordinator racing = new Racing(this.backend) {
            @Override
            public SyncRound.Reply round(SyncRound round) {
                if (!round.instance().id().equals("b") || round.capacity().isEmpty()) {
                    return super.round(round);
                }
                SyncRound.CapacityRequest request = round.capacity().get(0);
                bMayWait.add(request.growthMayWait());
                if (request.growthMayWait()) {
                    int step = (waitingRounds.incrementAndGet() % 3 == 0) ? 1 : 0;
                    request = new SyncRound.CapacityRequest(request.pool(), Math.min(request.requested(), held.get() + step),
                            request.globalMaxSize(), request.ttl());
                }
                SyncRound.Reply reply = super.round(new SyncRound(round.instance(), round.instanceTtl(), round.leaderTtl(),
                        round.countMembers(), round.writes(), round.writeTtl(), List.of(request), round.reads()));
                held.set(reply.grants().get(0).granted());
                if (held.get() == 5) {
                    roundsToTarget.compareAndSet(-1, bMayWait.size());
                }
                return reply;
            }
        };
        // A window of 1 s (the rebalance-interval), more than three times the 300 ms between two
        // raises; raised from nothing to 5 by one every third round of 100 ms takes about 1.5 s.
        DistributedSettings settings = FAST.toBuilder().rebalanceInterval(Duration.ofSeconds(1)).build();
        DistributedPoolManager a = manager(racing, settings, "a");
        a.addPool(pool("clients"), 10);
        a.start();
        await().atMost(Duration.ofSeconds(2)).until(() -> a.status().isLeader());
        DistributedPoolManager b = manager(racing, settings, "b");
        b.addPool(pool("clients"), 10);
        b.start();
        await().atMost(Duration.ofSeconds(3)).until(() -> bMayWait.contains(true));
        await().atMost(Duration.ofSeconds(10)).until(() -> b.status().pools().get("clients").grant() == 5);
        List<Boolean> rounds = List.copyOf(bMayWait);
        int first = rounds.indexOf(true);
        assertThat(rounds.subList(first, roundsToTarget.get())).as("b's rounds from its first wait to its target")
            .doesNotContain(false);
        assertThat(waitingRounds.get()).as("rounds b waited").isGreaterThanOrEqualTo(12);
    }

    @Test
    void onTheNoOpCoordinatorAStarvedRoundNeverPartitionsACappedPool() throws Exception {
        AtomicLong clock = new AtomicLong();
        FlakyCoordinator starved = new FlakyCoordinator(this.backend);
        DistributedPoolManager manager = new DistributedPoolManager(new ActiveCoordinator("none", starved, null),
                FAST, instance("a"), clock::get);
        this.toClose.add(manager);
        manager.addPool(pool("clients"), new GlobalCapacity(8, 0));
        assertThat(manager.status().pools().get("clients").limit()).isEqualTo(8);
        manager.start();
        // No round completes from now on, and the grant's deadline is long past.
        starved.failing.set(true);
        clock.addAndGet(Duration.ofMinutes(5).toNanos());
        Thread.sleep(300);
        assertThat(manager.status().pools().get("clients").partitioned()).isFalse();
        assertThat(manager.status().pools().get("clients").limit()).isEqualTo(8);
    }

    @Test
    void addPoolRejectsANonPositiveMaximumAndASecondPoolOfTheSameName() {
        DistributedPoolManager manager = manager(this.backend, FAST, "a");
        manager.addPool(pool("renderers"), 10);
        assertThatIllegalArgumentException().isThrownBy(() -> manager.addPool(pool("other"), 0))
            .withMessage("global-max-size must be at least 1, was 0");
        assertThatIllegalArgumentException().isThrownBy(() -> manager.addPool(pool("renderers"), 10))
            .withMessage("Another pool named 'renderers' is already registered");
    }

    @Test
    void localInstancesHaveUniqueIdsPrefixedByTheHost() {
        InstanceInfo first = DistributedPoolManager.localInstance(Map.of("application", "x"));
        InstanceInfo second = DistributedPoolManager.localInstance(Map.of());
        assertThat(first.id()).isNotEqualTo(second.id()).startsWith(first.host() + "-");
        assertThat(first.metadata()).containsEntry("application", "x");
        assertThat(first.startedAtMillis()).isPositive();
    }

    private DistributedPoolManager manager(Coordinator coordinator, DistributedSettings settings, String id) {
        DistributedPoolManager manager = new DistributedPoolManager(new ActiveCoordinator(coordinator.name(),
                coordinator, null), settings, instance(id));
        this.toClose.add(manager);
        return manager;
    }

    private Pool<Object> pool(String name) {
        Pool<Object> pool = Pool.create(PoolSpec.of(name, Object::new), PoolSettings.DEFAULTS);
        this.toClose.add(pool);
        return pool;
    }

    /** A backend whose holders race for the ledger, as etcd's do: it counts conflicts, so the leader raises grants. */
    private static class Racing extends ForwardingCoordinator {

        Racing(Coordinator delegate) {
            super(delegate);
        }

        @Override
        public long capacityConflicts() {
            return 0;
        }
    }

    /** A backend call as a test double saw it, and when. */
    private record Call(String operation, long atNanos) {
    }

    private static InstanceInfo instance(String id) {
        return new InstanceInfo(id, "test-host", 1L, Map.of());
    }

    private static long coordinationThreads() {
        return Thread.getAllStackTraces().keySet().stream()
            .filter(thread -> thread.getName().equals("pivot-pool-coordination") && thread.isAlive())
            .count();
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    /** A backend whose connect fails until it is up; it names itself so as not to be taken for the no-op one. */
    private static final class DownAtStartUp extends ForwardingCoordinator {

        final AtomicBoolean down = new AtomicBoolean(true);

        final AtomicInteger connects = new AtomicInteger();

        private volatile boolean connected;

        DownAtStartUp(Coordinator delegate) {
            super(delegate);
        }

        @Override
        public String name() {
            return "late";
        }

        @Override
        public void connect() {
            this.connects.incrementAndGet();
            before("connect");
            super.connect();
            this.connected = true;
        }

        @Override
        public boolean isConnected() {
            return this.connected && !this.down.get();
        }

        @Override
        protected void before(String operation) {
            if (this.down.get()) {
                throw new CoordinatorException("test backend is down");
            }
        }
    }

    /** A backend that can be made to fail every call, or to hang in it, and back. */
    private static final class FlakyCoordinator extends ForwardingCoordinator {

        final AtomicBoolean failing = new AtomicBoolean();

        final AtomicBoolean hanging = new AtomicBoolean();

        final AtomicInteger failedCalls = new AtomicInteger();

        final AtomicInteger hangingCalls = new AtomicInteger();

        final AtomicLong lastGoodRenewalSentAt = new AtomicLong();

        FlakyCoordinator(Coordinator delegate) {
            super(delegate);
        }

        @Override
        protected void before(String operation) {
            if (this.failing.get()) {
                this.failedCalls.incrementAndGet();
                throw new CoordinatorException("test backend is down");
            }
            if (this.hanging.get()) {
                this.hangingCalls.incrementAndGet();
                try {
                    while (this.hanging.get()) {
                        Thread.sleep(10);
                    }
                }
                catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                    throw new CoordinatorException("interrupted");
                }
                finally {
                    this.hangingCalls.decrementAndGet();
                }
            }
        }

        @Override
        public java.util.Optional<LeaderLease> tryAcquireLeadership(String instanceId, Duration ttl) {
            long sentAt = System.nanoTime();
            java.util.Optional<LeaderLease> lease = super.tryAcquireLeadership(instanceId, ttl);
            this.lastGoodRenewalSentAt.set(sentAt);
            return lease;
        }
    }
}
