package io.pivotpool.distributed;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.NoOpCoordinator;
import io.pivotpool.coordinator.SyncRound;
import io.pivotpool.distributed.internal.ObservedCoordinator;
import io.pivotpool.testsupport.contract.ForwardingCoordinator;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** How {@link ObservedCoordinator} reports a round of a coordinator that does it in one call. */
class ObservedRoundTests {

    private final List<String> reported = new CopyOnWriteArrayList<>();

    private final SyncRound round = new SyncRound(new InstanceInfo("a", "h", 1L, Map.of()), Duration.ofMinutes(1),
            Duration.ofMinutes(1), false, Map.of(), null, List.of(), List.of());

    @Test
    void aRoundInOneCallIsReportedOnceAlsoThroughANestedObserver() {
        ForwardingCoordinator inOneCall = new ForwardingCoordinator(new NoOpCoordinator()) {
            @Override
            public SyncRound.Reply round(SyncRound round) {
                return super.round(round);
            }
        };
        new ObservedCoordinator(inOneCall, (operation, backend, nanos, success) -> this.reported.add(operation))
            .round(this.round);
        assertThat(this.reported).containsExactly("round");
        this.reported.clear();
        new ObservedCoordinator(new ObservedCoordinator(inOneCall, (operation, backend, nanos, success) -> { }),
                (operation, backend, nanos, success) -> this.reported.add(operation))
            .round(this.round);
        assertThat(this.reported).containsExactly("round");
    }

    @Test
    void aRoundOfTheDefaultIsReportedCallByCallAlsoThroughANestedObserver() {
        ForwardingCoordinator byDefault = new ForwardingCoordinator(new NoOpCoordinator());
        new ObservedCoordinator(new ObservedCoordinator(byDefault, (operation, backend, nanos, success) -> { }),
                (operation, backend, nanos, success) -> this.reported.add(operation))
            .round(this.round);
        assertThat(this.reported).containsExactly("heartbeat", "seekLeadership");
    }
}
