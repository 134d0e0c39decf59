package io.pivotpool.coordinator;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The records a round passes to and from a coordinator keep their maps' order: a backend makes its
 * calls in that order, and {@code Map.copyOf}'s order changes from one JVM to the next, which made
 * the simulation's schedules replay differently in another JVM (about one seed in twenty).
 */
class RecordOrderTests {

    private static final InstanceInfo SELF = new InstanceInfo("a", "host", 1L, Map.of());

    @Test
    void aRoundsWritesAndReplysValuesIterateInTheOrderGiven() {
        Map<String, byte[]> given = new LinkedHashMap<>();
        for (int i = 30; i > 0; i--) {
            given.put("key-" + i, new byte[] { (byte) i });
        }
        SyncRound round = new SyncRound(SELF, Duration.ofSeconds(1), null, false, given, Duration.ofSeconds(1),
                List.of(), List.of());
        assertThat(round.writes().keySet()).containsExactlyElementsOf(given.keySet());
        SyncRound.Reply reply = new SyncRound.Reply(Optional.empty(), -1, List.of(), given);
        assertThat(reply.values().keySet()).containsExactlyElementsOf(given.keySet());
        assertThatThrownBy(() -> round.writes().put("other", new byte[0]))
            .isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void aCapacityViewsGrantsIterateInTheOrderGivenAndRefuseNulls() {
        Map<String, Integer> given = new LinkedHashMap<>();
        for (int i = 30; i > 0; i--) {
            given.put("holder-" + i, i);
        }
        CapacityView view = new CapacityView("pool", given, 465);
        assertThat(view.grants().keySet()).containsExactlyElementsOf(given.keySet());
        given.put("holder-null", null);
        assertThatNullPointerException().isThrownBy(() -> new CapacityView("pool", given, 465));
    }
}
