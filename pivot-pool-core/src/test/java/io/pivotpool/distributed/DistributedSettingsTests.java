package io.pivotpool.distributed;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class DistributedSettingsTests {

    @Test
    void defaultsAreTheSeedsSingleInstanceSettings() {
        DistributedSettings settings = DistributedSettings.DEFAULTS;
        assertThat(settings.enabled()).isFalse();
        assertThat(settings.coordination()).isEqualTo("none");
        assertThat(settings.namespace()).isEqualTo("pivot:pools");
        assertThat(settings.syncInterval()).isEqualTo(Duration.ofSeconds(2));
        assertThat(settings.leaderElection()).isTrue();
        assertThat(settings.leaderTtl()).isEqualTo(Duration.ofSeconds(10));
        assertThat(settings.rebalanceInterval()).isEqualTo(Duration.ofSeconds(10));
        assertThat(settings.instanceTtl()).isEqualTo(Duration.ofSeconds(6));
        assertThat(settings.failFast()).isFalse();
    }

    @Test
    void instanceTtlFollowsSyncIntervalUntilSetExplicitly() {
        DistributedSettings derived = DistributedSettings.builder().syncInterval(Duration.ofMillis(500)).build();
        assertThat(derived.instanceTtl()).isEqualTo(Duration.ofMillis(1500));
        DistributedSettings copied = derived.toBuilder().syncInterval(Duration.ofSeconds(1)).build();
        assertThat(copied.instanceTtl()).as("derived again after a copy").isEqualTo(Duration.ofSeconds(3));
        DistributedSettings explicit = copied.toBuilder().instanceTtl(Duration.ofSeconds(7)).build();
        assertThat(explicit.toBuilder().syncInterval(Duration.ofSeconds(2)).build().instanceTtl())
            .isEqualTo(Duration.ofSeconds(7));
    }

    @Test
    void toBuilderCopiesEverySetting() {
        DistributedSettings settings = DistributedSettings.builder()
            .enabled(true)
            .coordination("redis")
            .namespace("app-1:pools")
            .syncInterval(Duration.ofSeconds(1))
            .leaderElection(false)
            .leaderTtl(Duration.ofSeconds(4))
            .rebalanceInterval(Duration.ofSeconds(3))
            .instanceTtl(Duration.ofSeconds(5))
            .failFast(true)
            .build();
        assertThat(settings.toBuilder().build()).hasToString(settings.toString());
        assertThat(settings.toString()).isEqualTo("DistributedSettings[enabled=true, coordination=redis, "
                + "namespace=app-1:pools, sync-interval=PT1S, leader-election=false, leader-ttl=PT4S, "
                + "rebalance-interval=PT3S, instance-ttl=PT5S, fail-fast=true]");
    }

    @Test
    void nonPositiveDurationsAreRejectedNamingTheProperty() {
        for (Duration bad : new Duration[] { Duration.ZERO, Duration.ofSeconds(-1) }) {
            assertThatIllegalArgumentException()
                .isThrownBy(() -> DistributedSettings.builder().syncInterval(bad).build())
                .withMessageStartingWith("sync-interval must be positive");
            assertThatIllegalArgumentException()
                .isThrownBy(() -> DistributedSettings.builder().leaderTtl(bad).build())
                .withMessageStartingWith("leader-ttl must be positive");
            assertThatIllegalArgumentException()
                .isThrownBy(() -> DistributedSettings.builder().rebalanceInterval(bad).build())
                .withMessageStartingWith("rebalance-interval must be positive");
            assertThatIllegalArgumentException()
                .isThrownBy(() -> DistributedSettings.builder().instanceTtl(bad).build())
                .withMessageStartingWith("instance-ttl must be positive");
        }
    }

    @Test
    void leaderTtlMustOutlastTheSyncInterval() {
        assertThatIllegalArgumentException()
            .isThrownBy(() -> DistributedSettings.builder()
                .syncInterval(Duration.ofSeconds(10))
                .leaderTtl(Duration.ofSeconds(10))
                .build())
            .withMessage("leader-ttl (PT10S) must be longer than sync-interval (PT10S)");
    }

    @Test
    void aBrokenRuleShouldCarryThePropertyTheValueAndTheRule() {
        assertThatExceptionOfType(DistributedSettings.InvalidSettingException.class)
            .isThrownBy(() -> DistributedSettings.builder().leaderTtl(Duration.ofSeconds(1)).build())
            .satisfies((ex) -> {
                assertThat(ex.property()).isEqualTo("leader-ttl");
                assertThat(ex.value()).isEqualTo(Duration.ofSeconds(1));
                assertThat(ex.rule()).isEqualTo("must be longer than sync-interval (PT2S)");
                assertThat(ex.relatedProperty()).isEqualTo("sync-interval");
            });
        assertThatExceptionOfType(DistributedSettings.InvalidSettingException.class)
            .isThrownBy(() -> DistributedSettings.builder().namespace("a b").build())
            .satisfies((ex) -> {
                assertThat(ex.property()).isEqualTo("namespace");
                assertThat(ex.value()).isEqualTo("a b");
                assertThat(ex.relatedProperty()).isNull();
            });
    }

    @Test
    void instanceTtlMustOutlastTheSyncInterval() {
        assertThatIllegalArgumentException()
            .isThrownBy(() -> DistributedSettings.builder().instanceTtl(Duration.ofSeconds(2)).build())
            .withMessage("instance-ttl (PT2S) must be longer than sync-interval (PT2S)");
    }

    @Test
    void namespaceAllowsLettersDigitsColonsDotsDashesAndUnderscores() {
        assertThat(DistributedSettings.builder().namespace("My_app-2.prod:pools").build().namespace())
            .isEqualTo("My_app-2.prod:pools");
        for (String bad : new String[] { "", "with space", "a*", "{tag}", "ключ", "a/b", "x".repeat(129) }) {
            assertThatIllegalArgumentException()
                .isThrownBy(() -> DistributedSettings.builder().namespace(bad).build())
                .withMessageStartingWith("namespace must be");
        }
    }

    @Test
    void coordinationMustBeABackendName() {
        assertThatIllegalArgumentException()
            .isThrownBy(() -> DistributedSettings.builder().coordination("re dis").build())
            .withMessage("coordination must be a backend name of letters, digits, '.', '-' or '_', was 're dis'");
        assertThatIllegalArgumentException()
            .isThrownBy(() -> DistributedSettings.builder().coordination("").build())
            .withMessageStartingWith("coordination must be");
    }

    @Test
    void nullsAreRejectedNamingTheProperty() {
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> DistributedSettings.builder().namespace(null)))
            .isInstanceOf(NullPointerException.class)
            .hasMessage("namespace must not be null");
    }

    @Test
    void durationsOutsideASaneRangeAreRejectedNamingTheProperty() {
        assertThatIllegalArgumentException()
            .isThrownBy(() -> DistributedSettings.builder().syncInterval(Duration.ofNanos(1)).build())
            .withMessage("sync-interval must be between PT0.01S and PT1H, was PT0.000000001S");
        assertThatIllegalArgumentException()
            .isThrownBy(() -> DistributedSettings.builder().leaderTtl(Duration.ofDays(365 * 300)).build())
            .withMessageStartingWith("leader-ttl must be between PT0.01S and PT24H, was PT");
        assertThatIllegalArgumentException()
            .isThrownBy(() -> DistributedSettings.builder().rebalanceInterval(Duration.ofDays(2)).build())
            .withMessageContaining("rebalance-interval");
    }
}
