package io.pivotpool.distributed;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.NoOpCoordinator;
import io.pivotpool.distributed.internal.ActiveCoordinator;
import io.pivotpool.pool.Lease;
import io.pivotpool.pool.Overflow;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolExhaustedException;
import io.pivotpool.pool.PoolSettings;
import io.pivotpool.pool.PoolSpec;
import io.pivotpool.testsupport.contract.ForwardingCoordinator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The leader's round: its heartbeat, lease and own grants go in the one call a follower's round
 * makes, before it rebalances; what that ordering must not cost the followers.
 */
class LeaderRoundTests {

    /** sync 100 ms, rebalance every 400 ms (early when demand moved). */
    private static final DistributedSettings FAST = DistributedSettings.builder()
        .enabled(true)
        .syncInterval(Duration.ofMillis(100))
        .leaderTtl(Duration.ofSeconds(1))
        .instanceTtl(Duration.ofMillis(600))
        .rebalanceInterval(Duration.ofMillis(400))
        .build();

    private static final PoolSettings WAITING = PoolSettings.DEFAULTS.toBuilder()
        .maxSize(12)
        .minIdle(0)
        .overflow(Overflow.WAIT)
        .borrowTimeout(Duration.ofMillis(5))
        .build();

    private static final int CAP = 12;

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() {
        for (int i = this.toClose.size() - 1; i >= 0; i--) {
            try {
                this.toClose.get(i).close();
            }
            catch (Exception ex) {
                // best effort
            }
        }
    }

    /*
     * The leader's grants are asked for in its round's call, from the target of its previous
     * rebalance. Were a lowered target followed only by the next round's call, the objects the
     * rebalance moved to a follower would stay with the leader one sync interval longer than
     * when the leader made its calls one by one. So at the start of each of the leader's rounds,
     * with its objects idle (nothing keeps its pool above its target), the grant the backend
     * holds for it is already no more than the target it set itself in the round before.
     */
    @Test
    void aLeaderGivesBackWhatItsRebalanceTookFromItInTheSameRound() throws Exception {
        NoOpCoordinator server = new NoOpCoordinator();
        server.connect();
        List<String> lateGiveBacks = new CopyOnWriteArrayList<>();
        List<Integer> lowered = new CopyOnWriteArrayList<>();
        AtomicBoolean watching = new AtomicBoolean();
        DistributedPoolManager[] leader = new DistributedPoolManager[1];
        Coordinator clientOfA = new SharedClient(server) {
            private int lastTarget = -1;

            @Override
            protected void before(String operation) {
                DistributedPoolManager a = leader[0];
                if (!operation.equals("tryAcquireLeadership") || a == null || !watching.get() || !a.isLeader()) {
                    return;
                }
                int target = a.capacityOf("p").target();
                int held = server.capacity("p").grants().getOrDefault("a", 0);
                if (target >= 0 && target < this.lastTarget) {
                    lowered.add(target);
                }
                if (target >= 0 && held > target) {
                    lateGiveBacks.add("round began with a grant of " + held + " over its target " + target);
                }
                this.lastTarget = target;
            }
        };
        DistributedPoolManager a = manager("a", clientOfA);
        leader[0] = a;
        a.start();
        assertThat(a.isLeader()).isTrue();
        Pool<Object> poolOfA = track(a.createPool(PoolSpec.of("p", Object::new), WAITING, GlobalCapacity.of(CAP)));
        DistributedPoolManager b = manager("b", new SharedClient(server));
        b.start();
        Pool<Object> poolOfB = track(b.createPool(PoolSpec.of("p", Object::new), WAITING, GlobalCapacity.of(CAP)));

        // a busy with most of the cap, b idle.
        List<Lease<Object>> heldByA = new ArrayList<>();
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            Lease<Object> lease = poolOfA.tryBorrow();
            if (lease != null) {
                heldByA.add(lease);
            }
            return heldByA.size() >= CAP - 2;
        });
        // The demand moves: a's objects go idle, b turns borrowers away until its share grows.
        heldByA.forEach(Lease::close);
        watching.set(true);
        List<Lease<Object>> heldByB = new ArrayList<>();
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            try {
                heldByB.add(poolOfB.borrow());
            }
            catch (PoolExhaustedException ex) {
                // turned away: b's demand report says so
            }
            return heldByB.size() >= CAP - 2;
        });
        watching.set(false);
        heldByB.forEach(Lease::close);

        assertThat(a.isLeader()).as("a led throughout").isTrue();
        assertThat(lowered).as("rebalances that lowered the leader's own target").isNotEmpty();
        assertThat(lateGiveBacks).as("leader rounds that began holding more than their own target").isEmpty();
    }

    private DistributedPoolManager manager(String id, Coordinator client) {
        this.toClose.add(client);
        DistributedPoolManager manager = new DistributedPoolManager(new ActiveCoordinator(client.name(), client, null),
                FAST, new InstanceInfo(id, "test-host", 1L, Map.of()), System::nanoTime);
        this.toClose.add(manager);
        return manager;
    }

    private <T extends AutoCloseable> T track(T closeable) {
        this.toClose.add(closeable);
        return closeable;
    }

    /** A client of one in-memory server shared by the test's instances, as a real server is. */
    private static class SharedClient extends ForwardingCoordinator {

        SharedClient(Coordinator server) {
            super(server);
        }

        @Override
        public String name() {
            return "shared-in-memory";
        }

        @Override
        public void close() {
        }
    }
}
