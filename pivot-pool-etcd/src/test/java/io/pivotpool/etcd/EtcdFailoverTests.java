package io.pivotpool.etcd;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import io.pivotpool.coordinator.CapacityGrant;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.distributed.DistributedSettings;
import io.pivotpool.pool.Lease;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolSettings;
import io.pivotpool.pool.PoolSpec;
import io.pivotpool.testsupport.etcd.EtcdServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Failures of etcd and of instances, each against an etcd of its own: the leadership race between
 * managers, a silent leader, a graceful hand-over, SIGSTOP, {@code kill -9} and restart of etcd
 * (same data directory), and a three-member cluster losing its Raft leader. Each prints what it
 * measured; the module's README quotes the figures.
 */
@Tag("slow")
class EtcdFailoverTests {

    private static final Duration LEADER_TTL = Duration.ofSeconds(1);

    private static final Duration SYNC_INTERVAL = Duration.ofMillis(200);

    private static final Duration TIMEOUT = Duration.ofMillis(500);

    private final List<AutoCloseable> closeables = new ArrayList<>();

    private EtcdServer server;

    private final String namespace = "failover-" + UUID.randomUUID().toString().substring(0, 8);

    @AfterEach
    void closeEverything() throws Exception {
        for (int i = this.closeables.size() - 1; i >= 0; i--) {
            try {
                this.closeables.get(i).close();
            }
            catch (RuntimeException ex) {
                // a failing close must not hide the outcome
            }
        }
        if (this.server != null) {
            this.server.close();
        }
    }

    @Test
    void managersSampledEveryMillisecondNeverLeadTogetherAndTokensOnlyGrow() throws Exception {
        this.server = EtcdServer.start();
        RawEtcd.establish(this.server, this.namespace);
        List<DistributedPoolManager> managers = new ArrayList<>();
        for (String name : List.of("a", "b", "c")) {
            managers.add(manager(name));
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(4).toNanos();
        long lastToken = 0;
        int mostAtOnce = 0;
        int terms = 0;
        boolean killed = false;
        while (System.nanoTime() < deadline) {
            int leading = 0;
            for (DistributedPoolManager manager : managers) {
                if (manager.isLeader()) {
                    leading++;
                    long token = manager.leadership().map(LeaderLease::fencingToken).orElse(lastToken);
                    assertThat(token).as("fencing token seen by the leader").isGreaterThanOrEqualTo(lastToken);
                    if (token > lastToken) {
                        terms++;
                    }
                    lastToken = token;
                }
            }
            mostAtOnce = Math.max(mostAtOnce, leading);
            if (!killed && System.nanoTime() > deadline - Duration.ofMillis(2500).toNanos()) {
                // The leader instance dies without resigning: its coordinator closes, its lease must run out.
                for (DistributedPoolManager manager : managers) {
                    if (manager.isLeader()) {
                        manager.coordinator().close();
                        managers.remove(manager);
                        break;
                    }
                }
                killed = true;
            }
            Thread.sleep(1);
        }
        System.out.printf("EtcdFailoverTests: leadership race, 3 managers sampled every ms for 4 s: at most %d leader(s) "
                + "at once, %d term(s) seen, last token %d%n", mostAtOnce, terms, lastToken);
        assertThat(mostAtOnce).isEqualTo(1);
        assertThat(terms).as("a new term after the leader instance died").isGreaterThanOrEqualTo(2);
    }

    @Test
    void silentLeaderIsReplacedAfterItsLeaseAndAGracefulOneAtOnce() {
        this.server = EtcdServer.start();
        RawEtcd.establish(this.server, this.namespace);
        Coordinator a = coordinator();
        Coordinator b = coordinator();
        LeaderLease first = a.tryAcquireLeadership("a", LEADER_TTL).orElseThrow();
        long lastRenewal = System.nanoTime();
        a.close();
        Optional<LeaderLease> next = Optional.empty();
        while (next.isEmpty()) {
            next = b.tryAcquireLeadership("b", LEADER_TTL);
            sleep(10);
        }
        Duration takeover = Duration.ofNanos(System.nanoTime() - lastRenewal);
        assertThat(next.get().fencingToken()).isGreaterThan(first.fencingToken());
        assertThat(takeover).isGreaterThanOrEqualTo(LEADER_TTL);

        Coordinator c = coordinator();
        long released = System.nanoTime();
        assertThat(b.releaseLeadership("b", next.get().fencingToken())).isTrue();
        LeaderLease third = c.tryAcquireLeadership("c", LEADER_TTL).orElseThrow();
        Duration handOver = Duration.ofNanos(System.nanoTime() - released);
        assertThat(third.fencingToken()).isGreaterThan(next.get().fencingToken());
        System.out.printf("EtcdFailoverTests: silent leader (ttl %d ms) replaced %d ms after its last renewal; graceful "
                + "release + acquire %.1f ms%n", LEADER_TTL.toMillis(), takeover.toMillis(), handOver.toNanos() / 1e6);
    }

    @Test
    void sigstopLongerThanTheLeaseThenSigcontAndTheSameCoordinatorsWorkAgain() {
        this.server = EtcdServer.start();
        RawEtcd.establish(this.server, this.namespace);
        Coordinator a = coordinator();
        a.set("kept", bytes("value"), null);
        LeaderLease lease = a.tryAcquireLeadership("a", LEADER_TTL).orElseThrow();
        this.server.member().pause();
        long callStart = System.nanoTime();
        boolean failed = false;
        try {
            a.get("kept");
        }
        catch (CoordinatorException ex) {
            failed = true;
        }
        Duration failedAfter = Duration.ofNanos(System.nanoTime() - callStart);
        assertThat(failed).as("a call while etcd is stopped fails").isTrue();
        assertThat(a.isConnected()).isFalse();
        sleep(1500);
        this.server.member().resume();
        long resumed = System.nanoTime();
        Duration recovered = awaitWorking(a);
        assertThat(a.isConnected()).isTrue();
        assertThat(text(a.get("kept"))).contains("value");
        // Leases are measured by the etcd leader: frozen with it, they end after SIGCONT if their time is up.
        Optional<LeaderLease> leader = a.currentLeader();
        System.out.printf("EtcdFailoverTests: SIGSTOP 1.5 s: a call failed after %d ms (timeout %d ms); calls work again "
                + "%d ms after SIGCONT; leader after resume: %s (token %d before)%n", failedAfter.toMillis(),
                TIMEOUT.toMillis(), recovered.toMillis(), leader.map(l -> l.holderId() + " token " + l.fencingToken())
                    .orElse("none"), lease.fencingToken());
        assertThat(leader.map(LeaderLease::fencingToken).orElse(lease.fencingToken())).isEqualTo(lease.fencingToken());
        assertThat(Duration.ofNanos(System.nanoTime() - resumed)).isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void kill9AndRestartOnTheSameDataKeepsValuesLeasesAndTokens() {
        this.server = EtcdServer.start();
        RawEtcd.establish(this.server, this.namespace);
        Coordinator a = coordinator();
        a.set("kept", bytes("value"), null);
        LeaderLease lease = a.tryAcquireLeadership("a", Duration.ofSeconds(30)).orElseThrow();
        CapacityGrant grant = a.requestCapacity("p", "a", 7, 10, Duration.ofSeconds(30));
        this.server.member().kill9();
        assertThat(catchFailure(() -> a.get("kept"))).as("a call while etcd is down fails").isTrue();
        long restartAt = System.nanoTime();
        this.server.member().restart();
        long healthy = System.nanoTime();
        Duration recovered = awaitWorking(a);
        assertThat(text(a.get("kept"))).as("a value written before the crash").contains("value");
        assertThat(a.currentLeader()).as("the leader term survives the crash").hasValueSatisfying(
                current -> assertThat(current.fencingToken()).isEqualTo(lease.fencingToken()));
        assertThat(a.tryAcquireLeadership("a", Duration.ofSeconds(30))).as("renewal after the restart")
            .hasValueSatisfying(current -> assertThat(current.fencingToken()).isEqualTo(lease.fencingToken()));
        assertThat(a.capacity("p").grants()).containsEntry("a", grant.granted());
        assertThat(a.releaseLeadership("a", lease.fencingToken())).isTrue();
        assertThat(a.tryAcquireLeadership("b", LEADER_TTL).orElseThrow().fencingToken()).isGreaterThan(lease.fencingToken());
        System.out.printf("EtcdFailoverTests: kill -9, restart on the same data dir: healthy %d ms after the restart "
                + "began, the same coordinator works %d ms after that; value, leader term (token %d) and grant survived%n",
                Duration.ofNanos(healthy - restartAt).toMillis(), recovered.toMillis(), lease.fencingToken());
    }

    @Test
    void threeMemberClusterLosingItsRaftLeaderKeepsCoordinatingAndNothingGoesBackwards() throws Exception {
        this.server = EtcdServer.startCluster(3);
        RawEtcd.establish(this.server, this.namespace);
        Coordinator a = coordinator();
        Coordinator b = coordinator();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong lastToken = new AtomicLong();
        AtomicLong failures = new AtomicLong();
        AtomicLong lastFailureAt = new AtomicLong();
        AtomicLong rounds = new AtomicLong();
        AtomicReference<Throwable> broken = new AtomicReference<>();
        List<Thread> instances = new ArrayList<>();
        for (Coordinator coordinator : List.of(a, b)) {
            String id = (coordinator == a) ? "a" : "b";
            Thread instance = new Thread(() -> {
                while (running.get()) {
                    try {
                        coordinator.heartbeat(new InstanceInfo(id, "h", 1L, Map.of()), LEADER_TTL);
                        coordinator.tryAcquireLeadership(id, LEADER_TTL).ifPresent(lease -> {
                            long previous = lastToken.getAndAccumulate(lease.fencingToken(), Math::max);
                            if (lease.fencingToken() < previous) {
                                broken.set(new AssertionError("token " + lease.fencingToken() + " after " + previous));
                            }
                        });
                        CapacityGrant grant = coordinator.requestCapacity("p", id, 8, 10, LEADER_TTL);
                        if (grant.totalGranted() > 10) {
                            broken.set(new AssertionError("grants sum to " + grant.totalGranted()));
                        }
                        rounds.incrementAndGet();
                    }
                    catch (CoordinatorException ex) {
                        failures.incrementAndGet();
                        lastFailureAt.set(System.nanoTime());
                    }
                    sleep(20);
                }
            }, "instance-" + id);
            instance.start();
            instances.add(instance);
        }
        sleep(1000);
        EtcdServer.Member raftLeader = this.server.raftLeader();
        long killedAt = System.nanoTime();
        raftLeader.kill9();
        long roundsAtKill = rounds.get();
        sleep(3000);
        running.set(false);
        for (Thread instance : instances) {
            instance.join(5000);
        }
        long disturbance = (lastFailureAt.get() > killedAt) ? lastFailureAt.get() - killedAt : 0;
        System.out.printf("EtcdFailoverTests: 3-member cluster, Raft leader %s killed: %d failed calls, the last %d ms "
                + "after the kill; %d rounds after it; last token %d%n", raftLeader, failures.get(),
                Duration.ofNanos(disturbance).toMillis(), rounds.get() - roundsAtKill, lastToken.get());
        assertThat(broken.get()).as("a token or grant that went backwards").isNull();
        assertThat(rounds.get() - roundsAtKill).as("rounds completed after the Raft leader died").isGreaterThan(20);
        assertThat(a.capacity("p").total()).isLessThanOrEqualTo(10);
        assertThat(a.currentLeader()).isPresent();
    }

    // ---- helpers ---------------------------------------------------------------------------

    @Test
    void anEtcdDownAtStartUpIsTriedEveryRoundAndTheInstanceJoinsOnceItIsBack() throws Exception {
        this.server = EtcdServer.start();
        RawEtcd.establish(this.server, this.namespace);
        this.server.member().kill9();
        DistributedPoolManager manager = unstartedManager(unconnectedCoordinator(), "late");
        Pool<Object> pool = Pool.create(PoolSpec.of("objects", Object::new), PoolSettings.builder().maxSize(2).build());
        this.closeables.add(pool);
        manager.addPool(pool, 4);
        manager.start();
        assertThat(manager.status().activeBackend()).as("kept, not replaced by the no-op coordinator").isEqualTo("etcd");
        assertThat(manager.status().connected()).isFalse();
        assertThat(pool.maxSize()).as("a capped pool with no grant to keep holds nothing").isZero();
        sleep(3 * SYNC_INTERVAL.toMillis());
        long restartAt = System.nanoTime();
        this.server.member().restart();
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (!(manager.status().connected() && manager.isLeader() && pool.maxSize() == 2)) {
            assertThat(System.nanoTime()).as("joined within 15 s of the restart").isLessThan(deadline);
            sleep(20);
        }
        System.out.printf("EtcdFailoverTests: etcd down at start-up, the instance led with its grant %d ms after "
                + "etcd's restart began%n", Duration.ofNanos(System.nanoTime() - restartAt).toMillis());
        try (Lease<Object> lease = pool.borrow()) {
            assertThat(lease.get()).isNotNull();
        }
    }

    private Coordinator coordinator() {
        Coordinator coordinator = unconnectedCoordinator();
        coordinator.connect();
        return coordinator;
    }

    private Coordinator unconnectedCoordinator() {
        EtcdCoordinator coordinator = EtcdCoordinator.create(EtcdCoordinatorSettings.builder()
            .endpoints(this.server.endpoints())
            .namespace(this.namespace)
            .timeout(TIMEOUT)
            .build());
        this.closeables.add(coordinator);
        return coordinator;
    }

    private DistributedPoolManager manager(String name) {
        DistributedPoolManager manager = unstartedManager(coordinator(), name);
        manager.start();
        return manager;
    }

    private DistributedPoolManager unstartedManager(Coordinator coordinator, String name) {
        DistributedSettings settings = DistributedSettings.builder()
            .enabled(true)
            .coordination("etcd")
            .syncInterval(SYNC_INTERVAL)
            .leaderTtl(LEADER_TTL)
            .build();
        DistributedPoolManager manager = new DistributedPoolManager(coordinator,
                settings, new InstanceInfo(name, "localhost", System.currentTimeMillis(), Map.of()));
        this.closeables.add(manager);
        return manager;
    }

    /** Retries a read until it succeeds; how long that took. */
    private static Duration awaitWorking(Coordinator coordinator) {
        long start = System.nanoTime();
        while (catchFailure(() -> coordinator.get("kept"))) {
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
            sleep(5);
        }
        return Duration.ofNanos(System.nanoTime() - start);
    }

    private static boolean catchFailure(Runnable call) {
        try {
            call.run();
            return false;
        }
        catch (CoordinatorException ex) {
            return true;
        }
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static Optional<String> text(Optional<byte[]> value) {
        return value.map(bytes -> new String(bytes, StandardCharsets.UTF_8));
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }
}
