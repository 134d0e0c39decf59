package io.pivotpool.distributed.internal;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.NoOpCoordinator;
import io.pivotpool.coordinator.SyncRound;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class ObservedCoordinatorTests {

    private final List<String> reported = new CopyOnWriteArrayList<>();

    private final NoOpCoordinator delegate = new NoOpCoordinator();

    private final ObservedCoordinator observed = new ObservedCoordinator(this.delegate,
            (operation, backend, nanos, success) -> this.reported
                .add(operation + "/" + backend + "/" + (success ? "ok" : "failed") + "/" + (nanos >= 0)));

    @Test
    void everyOperationIsReportedUnderItsMethodName() {
        InstanceInfo instance = new InstanceInfo("a", "h", 1L, Map.of());
        Duration ttl = Duration.ofMinutes(1);
        this.observed.connect();
        this.observed.register(instance, ttl);
        this.observed.heartbeat(instance, ttl);
        this.observed.liveInstances();
        this.observed.unregister("a");
        long token = this.observed.tryAcquireLeadership("a", ttl).orElseThrow().fencingToken();
        this.observed.currentLeader();
        this.observed.releaseLeadership("a", token);
        this.observed.push("q", new byte[] { 1 });
        this.observed.pop("q");
        this.observed.pop("q", Duration.ZERO);
        this.observed.set("k", new byte[] { 1 }, null);
        assertThat(this.observed.get("k")).hasValueSatisfying(value -> assertThat(value).containsExactly(1));
        this.observed.compareAndSet("k", new byte[] { 1 }, new byte[] { 2 }, null);
        this.observed.delete("k");
        this.observed.requestCapacity("p", "a", 1, 2, ttl);
        this.observed.capacity("p");
        this.observed.releaseCapacity("p", "a");
        assertThat(this.delegate.capacity("p").grants()).as("calls reach the delegate").isEmpty();
        assertThat(this.reported).containsExactly("connect/noop/ok/true", "register/noop/ok/true",
                "heartbeat/noop/ok/true", "liveInstances/noop/ok/true", "unregister/noop/ok/true",
                "tryAcquireLeadership/noop/ok/true", "currentLeader/noop/ok/true", "releaseLeadership/noop/ok/true",
                "push/noop/ok/true", "pop/noop/ok/true", "pop/noop/ok/true", "set/noop/ok/true", "get/noop/ok/true",
                "compareAndSet/noop/ok/true", "delete/noop/ok/true", "requestCapacity/noop/ok/true",
                "capacity/noop/ok/true", "releaseCapacity/noop/ok/true");
    }

    @Test
    void aRoundIsReportedCallByCallWhenTheDelegateUsesTheDefault() {
        InstanceInfo instance = new InstanceInfo("a", "h", 1L, Map.of());
        Duration ttl = Duration.ofMinutes(1);
        SyncRound round = new SyncRound(instance, ttl, ttl, true, Map.of("report", new byte[] { 1 }), ttl,
                List.of(new SyncRound.CapacityRequest("p", 1, 2, ttl)), List.of("target"));
        this.observed.round(round);
        assertThat(this.reported).as("the no-op coordinator uses the default: separate calls").containsExactly(
                "heartbeat/noop/ok/true", "seekLeadership/noop/ok/true", "liveInstanceCount/noop/ok/true",
                "setAll/noop/ok/true", "requestCapacity/noop/ok/true", "getAll/noop/ok/true");
    }

    @Test
    void localReadsAndCloseAreNotReported() {
        assertThat(this.observed.name()).isEqualTo("noop");
        this.observed.isConnected();
        this.observed.close();
        assertThat(this.reported).isEmpty();
        assertThat(this.delegate.isConnected()).isFalse();
    }

    @Test
    void aCallThatThrowsIsReportedAsAFailureAndStillThrows() {
        assertThatIllegalArgumentException().isThrownBy(() -> this.observed.set("k", new byte[0], Duration.ZERO));
        assertThat(this.reported).containsExactly("set/noop/failed/true");
    }

    @Test
    void aFailingObserverNeverBreaksTheCall() {
        ObservedCoordinator coordinator = new ObservedCoordinator(this.delegate, (operation, backend, nanos, success) -> {
            throw new IllegalStateException("metrics registry is gone");
        });
        coordinator.set("k", new byte[] { 7 }, null);
        assertThat(coordinator.get("k")).hasValueSatisfying(value -> assertThat(value).containsExactly(7));
    }
}
