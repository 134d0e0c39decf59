package io.pivotpool.distributed;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.NoOpCoordinator;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The leader's reaping rule on its own clock: sync 100 ms and instance-ttl 600 ms, so a holder is
 * reaped once absent for more than 1,000 ms, and listings more than 550 ms apart start every
 * absence again. The backend's grants and registrations live for an hour: only the rule decides.
 */
class NonMemberGrantsTests {

    private static final Duration HOUR = Duration.ofHours(1);

    private static final long MS = 1_000_000L;

    private final NoOpCoordinator backend = new NoOpCoordinator();

    private final NonMemberGrants grants = new NonMemberGrants(this.backend, DistributedSettings.builder()
        .syncInterval(Duration.ofMillis(100))
        .instanceTtl(Duration.ofMillis(600))
        .build());

    @Test
    void aHolderAbsentFromEveryListingForLongerThanTheRuleIsReaped() {
        this.backend.requestCapacity("p", "stranger", 4, 10, HOUR);
        this.backend.requestCapacity("p", "leader", 2, 10, HOUR);
        long now = 0;
        for (; now <= 1_000 * MS; now += 100 * MS) {
            assertThat(round(1, now, "p")).as("reaped at %d ms", now / MS).isEmpty();
        }
        assertThat(round(1, now, "p")).containsExactly(new NonMemberGrants.Reaped("p", "stranger", 4, 1_100 * MS));
        assertThat(this.backend.capacity("p").grants()).containsOnlyKeys("leader");
    }

    @Test
    void aHolderSeenInAnyListingStartsAgain() {
        this.backend.requestCapacity("p", "b", 4, 10, HOUR);
        long now = 0;
        for (; now < 800 * MS; now += 100 * MS) {
            assertThat(round(1, now, "p")).isEmpty();
        }
        assertThat(this.grants.leaderRound(1, Set.of("leader", "b"), List.of("p"), now)).isEmpty();
        // Found again at 900 ms: reaped once absent for more than 1,000 ms from there.
        for (now += 100 * MS; now <= 1_900 * MS; now += 100 * MS) {
            assertThat(round(1, now, "p")).as("reaped at %d ms", now / MS).isEmpty();
        }
        assertThat(round(1, now, "p")).hasSize(1);
    }

    @Test
    void aGapBetweenListingsOrANewTermStartsEveryAbsenceAgain() {
        this.backend.requestCapacity("p", "stranger", 4, 10, HOUR);
        assertThat(round(1, 0, "p")).isEmpty();
        assertThat(round(1, 500 * MS, "p")).isEmpty();
        // 560 ms without a listing: a registration could have come and gone unseen.
        assertThat(round(1, 1_060 * MS, "p")).isEmpty();
        assertThat(round(1, 1_560 * MS, "p")).isEmpty();
        assertThat(round(1, 2_060 * MS, "p")).as("absent for 1,000 ms since the gap").isEmpty();
        assertThat(round(1, 2_070 * MS, "p")).hasSize(1);
        this.backend.requestCapacity("p", "stranger", 4, 10, HOUR);
        assertThat(round(2, 2_100 * MS, "p")).as("a new term's first listing").isEmpty();
        assertThat(round(2, 2_600 * MS, "p")).isEmpty();
        assertThat(round(2, 3_150 * MS, "p")).hasSize(1);
    }

    @Test
    void aHolderThatRegisteredSinceTheListingKeepsItsGrant() {
        this.backend.requestCapacity("p", "late", 4, 10, HOUR);
        for (long now = 0; now <= 1_000 * MS; now += 100 * MS) {
            round(1, now, "p");
        }
        // Registered after this round's listing: the backend's check keeps the grant.
        this.backend.register(new InstanceInfo("late", "h", 1L, Map.of()), HOUR);
        assertThat(round(1, 1_100 * MS, "p")).isEmpty();
        assertThat(this.backend.capacity("p").grants()).containsKey("late");
    }

    @Test
    void thePoolsAreReadInTurnOnePerRound() {
        this.backend.requestCapacity("p", "stranger", 1, 10, HOUR);
        this.backend.requestCapacity("q", "stranger", 1, 10, HOUR);
        long now = 0;
        int reaped = 0;
        for (; reaped < 2 && now < 3_000 * MS; now += 100 * MS) {
            List<NonMemberGrants.Reaped> round = round(1, now, "p", "q");
            assertThat(round).hasSizeLessThanOrEqualTo(1);
            reaped += round.size();
        }
        assertThat(reaped).isEqualTo(2);
        assertThat(now).as("both pools given back by").isLessThanOrEqualTo(1_300 * MS);
        assertThat(this.backend.capacity("p").grants()).isEmpty();
        assertThat(this.backend.capacity("q").grants()).isEmpty();
    }

    @Test
    void notLeadingForgetsEveryAbsence() {
        this.backend.requestCapacity("p", "stranger", 4, 10, HOUR);
        for (long now = 0; now <= 1_000 * MS; now += 100 * MS) {
            round(1, now, "p");
        }
        this.grants.notLeading();
        assertThat(round(1, 1_100 * MS, "p")).isEmpty();
    }

    /** A leader round of term {@code term} at {@code now} whose listing found the leader alone. */
    private List<NonMemberGrants.Reaped> round(long term, long now, String... pools) {
        return this.grants.leaderRound(term, Set.of("leader"), List.of(pools), now);
    }
}
