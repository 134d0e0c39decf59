package io.pivotpool.coordinator.support;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class PlausibilityTests {

    @Test
    void aRecordMayLastFourTimesTheReadersOwnTtl() {
        assertThat(Plausibility.longestTtlMillis(500)).isEqualTo(2_000);
        assertThat(Plausibility.longestTtlMillis(10_000)).isEqualTo(40_000);
    }

    @Test
    void neverMoreThanADayAndADayWhenTheReadersTtlIsNotKnownYet() {
        assertThat(Plausibility.longestTtlMillis(0)).isEqualTo(Plausibility.MAX_TTL_MILLIS);
        assertThat(Plausibility.longestTtlMillis(-1)).isEqualTo(Plausibility.MAX_TTL_MILLIS);
        assertThat(Plausibility.longestTtlMillis(Plausibility.MAX_TTL_MILLIS / 4)).isEqualTo(Plausibility.MAX_TTL_MILLIS);
        assertThat(Plausibility.longestTtlMillis(Long.MAX_VALUE)).isEqualTo(Plausibility.MAX_TTL_MILLIS);
        assertThat(Plausibility.longestTtlMillis(Plausibility.MAX_TTL_MILLIS / 4 - 1))
            .isEqualTo(Plausibility.MAX_TTL_MILLIS - 4);
    }
}
