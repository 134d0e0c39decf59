package io.pivotpool.etcd;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.LeaderLease;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One call of every kind a running cluster makes (membership, leadership, queues with a blocking
 * pop, which watches, shared state, capacity), for tests about what a connection may do (TLS
 * settings, an etcd user's permissions) rather than about the contract's details.
 */
final class EveryOperation {

    private static final Duration TTL = Duration.ofSeconds(5);

    private EveryOperation() {
    }

    /** Runs them all on a connected coordinator whose namespace has a term counter (RawEtcd.establish). */
    static void run(Coordinator coordinator) {
        InstanceInfo instance = new InstanceInfo("a", "host-a", 1L, Map.of("app", "test"));
        coordinator.register(instance, TTL);
        coordinator.heartbeat(instance, TTL);
        assertThat(coordinator.liveInstances()).containsExactly(instance);
        Optional<LeaderLease> lease = coordinator.tryAcquireLeadership("a", TTL);
        assertThat(lease).isPresent();
        assertThat(coordinator.currentLeader()).isPresent();
        coordinator.push("q", bytes("m"));
        assertThat(coordinator.pop("q")).isPresent();
        coordinator.push("q", bytes("m"));
        assertThat(coordinator.pop("q", Duration.ofMillis(200))).isPresent();
        assertThat(coordinator.pop("empty", Duration.ofMillis(100))).isEmpty();
        coordinator.set("k", bytes("v"), TTL);
        assertThat(coordinator.get("k")).isPresent();
        assertThat(coordinator.compareAndSet("k", bytes("v"), bytes("w"), null)).isTrue();
        assertThat(coordinator.delete("k")).isTrue();
        coordinator.requestCapacity("pool", "a", 2, 10, TTL);
        coordinator.capacity("pool");
        coordinator.releaseCapacity("pool", "a");
        assertThat(coordinator.releaseLeadership("a", lease.get().fencingToken())).isTrue();
        coordinator.unregister("a");
        assertThat(coordinator.liveInstances()).isEmpty();
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
