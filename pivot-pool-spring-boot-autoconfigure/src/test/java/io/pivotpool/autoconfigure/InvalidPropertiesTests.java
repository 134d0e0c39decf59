package io.pivotpool.autoconfigure;

import java.time.Duration;
import java.util.Arrays;
import java.util.stream.Stream;

import io.pivotpool.autoconfigure.TestPools.RendererSpec;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every rule of {@link PivotPoolProperties} and {@link DistributedProperties}: a broken one stops
 * start-up with a message that names the property and the rule.
 */
class InvalidPropertiesTests {

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(PivotPoolAutoConfiguration.class))
        .withUserConfiguration(RendererSpec.class);

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenPoolRules")
    void aBrokenPoolRuleShouldFailStartupNamingThePropertyTheValueAndTheRule(BrokenRule broken) {
        this.contextRunner.withPropertyValues(broken.propertyValues()).run((context) -> {
            InvalidPropertyException invalid = invalidPoolProperty(context);
            assertThat(invalid.getName()).isEqualTo("pivot.pool.pools.renderers." + broken.property());
            assertThat(invalid.getValue()).isEqualTo(broken.value());
            assertThat(invalid.getReason()).isEqualTo(broken.reason());
            assertThat(invalid.fix()).contains("pivot.pool.pools.renderers." + broken.property());
        });
    }

    static Stream<BrokenRule> brokenPoolRules() {
        Duration tooLong = Duration.ofDays(366);
        return Stream.of(new BrokenRule("max-size", 0, "max-size must be at least 1, was 0", "max-size=0"),
                new BrokenRule("max-size", 2097152, "max-size must be at most 2097151, was 2097152",
                        "max-size=2097152"),
                new BrokenRule("min-idle", -2, "min-idle must not be negative, was -2", "min-idle=-2"),
                new BrokenRule("min-idle", 8, "min-idle (8) must not exceed max-size (4)", "min-idle=8", "max-size=4"),
                new BrokenRule("emergency-limit", -1, "emergency-limit must not be negative, was -1",
                        "emergency-limit=-1"),
                new BrokenRule("emergency-limit", 5, "emergency-limit (5) must be at least max-size (10)",
                        "max-size=10", "emergency-limit=5"),
                new BrokenRule("emergency-limit", 2097152, "emergency-limit must be at most 2097151, was 2097152",
                        "emergency-limit=2097152"),
                new BrokenRule("borrow-timeout", Duration.ofSeconds(-1),
                        "borrow-timeout must not be negative, was PT-1S", "borrow-timeout=-1s"),
                new BrokenRule("idle-timeout", tooLong, "idle-timeout must be at most PT8760H, was PT8784H",
                        "idle-timeout=366d"),
                new BrokenRule("max-lifetime", Duration.ofMillis(-1),
                        "max-lifetime must not be negative, was PT-0.001S", "max-lifetime=-1ms"),
                new BrokenRule("leak-detection-threshold", tooLong,
                        "leak-detection-threshold must be at most PT8760H, was PT8784H",
                        "leak-detection-threshold=366d"),
                new BrokenRule("housekeeping-interval", Duration.ZERO,
                        "housekeeping-interval must be positive, was PT0S", "housekeeping-interval=0s"),
                new BrokenRule("global-max-size", 0, "global-max-size must be at least 1, was 0", "global-max-size=0"),
                new BrokenRule("partition-size", 5, "partition-size (5) must be between 0 and global-max-size (4)",
                        "global-max-size=4", "partition-size=5"),
                new BrokenRule("partition-size", -1, "partition-size (-1) must be between 0 and global-max-size (4)",
                        "global-max-size=4", "partition-size=-1"));
    }

    @Test
    void aBrokenRuleBetweenTwoPoolSettingsShouldNameBothProperties() {
        this.contextRunner
            .withPropertyValues("pivot.pool.pools.renderers.min-idle=8", "pivot.pool.pools.renderers.max-size=4")
            .run((context) -> assertThat(invalidPoolProperty(context).fix())
                .isEqualTo("Change pivot.pool.pools.renderers.min-idle (or pivot.pool.pools.renderers.max-size) so "
                        + "that min-idle keeps the rule above."));
        this.contextRunner
            .withPropertyValues("pivot.pool.pools.renderers.max-size=10",
                    "pivot.pool.pools.renderers.emergency-limit=5")
            .run((context) -> assertThat(invalidPoolProperty(context).fix())
                .isEqualTo("Change pivot.pool.pools.renderers.emergency-limit (or pivot.pool.pools.renderers.max-size) "
                        + "so that emergency-limit keeps the rule above."));
    }

    @Test
    void aBrokenCapRuleShouldSayWhatTheCapsValuesMean() {
        this.contextRunner.withPropertyValues("pivot.pool.pools.renderers.global-max-size=0")
            .run((context) -> assertThat(invalidPoolProperty(context).fix())
                .isEqualTo("Set pivot.pool.pools.renderers.global-max-size to 1 or more, or remove it for a pool "
                        + "without a cluster-wide cap."));
        this.contextRunner
            .withPropertyValues("pivot.pool.pools.renderers.global-max-size=4",
                    "pivot.pool.pools.renderers.partition-size=5")
            .run((context) -> assertThat(invalidPoolProperty(context).fix())
                .isEqualTo("Set pivot.pool.pools.renderers.partition-size between 0 (a strict cap) and global-max-size "
                        + "(4), or remove it to keep the last grant."));
    }

    @Test
    void maxSizeBelowTheProfilesMinIdleShouldFailStartupNamingTheProfile() {
        this.contextRunner.withPropertyValues("pivot.pool.profile=extreme", "pivot.pool.pools.renderers.max-size=8")
            .run((context) -> {
                assertInvalid(context, "pivot.pool.pools.renderers.min-idle",
                        "min-idle (16) must not exceed max-size (8)")
                    .hasMessageContaining("comes from pivot.pool.profile=extreme");
                InvalidPropertyException invalid = invalidPoolProperty(context);
                assertThat(invalid.getValue()).as("the profile's value").isEqualTo(16);
                assertThat(invalid.fix()).isEqualTo("Set pivot.pool.pools.renderers.min-idle (or "
                        + "pivot.pool.pools.renderers.max-size) so that min-idle keeps the rule above, or choose "
                        + "another pivot.pool.profile than extreme.");
            });
    }

    @Test
    void partitionSizeWithoutGlobalMaxSizeShouldFailStartup() {
        this.contextRunner.withPropertyValues("pivot.pool.pools.renderers.partition-size=1")
            .run((context) -> assertInvalid(context, "pivot.pool.pools.renderers.partition-size",
                    "partition-size applies only to a pool with a global-max-size"));
    }

    @Test
    void aCappedElasticPoolShouldFailStartupNamingTheCap() {
        this.contextRunner
            .withPropertyValues("pivot.pool.pools.renderers.global-max-size=4",
                    "pivot.pool.pools.renderers.overflow=elastic")
            .run((context) -> assertInvalid(context, "pivot.pool.pools.renderers.global-max-size",
                    "use overflow 'wait' or 'fail' for a capped pool"));
    }

    @Test
    void aCappedPoolWithoutLeaderElectionShouldFailStartup() {
        this.contextRunner
            .withPropertyValues("pivot.pool.pools.renderers.global-max-size=4", "distributed.leader-election=false")
            .run((context) -> assertInvalid(context, "pivot.pool.pools.renderers.global-max-size",
                    "distributed.leader-election is false"));
    }

    @Test
    void unknownOverflowShouldFailStartupNamingTheProperty() {
        this.contextRunner.withPropertyValues("pivot.pool.pools.renderers.overflow=explode")
            .run((context) -> assertThat(context).getFailure()
                .hasStackTraceContaining("Failed to bind properties under 'pivot.pool.pools.renderers.overflow' to "
                        + "io.pivotpool.pool.Overflow")
                .hasStackTraceContaining("for value [explode]"));
    }

    @Test
    void unknownProfileShouldFailStartupNamingTheProperty() {
        this.contextRunner.withPropertyValues("pivot.pool.profile=turbo")
            .run((context) -> assertThat(context).getFailure()
                .hasStackTraceContaining("Failed to bind properties under 'pivot.pool.profile'")
                .hasStackTraceContaining("for value [turbo]"));
    }

    @Test
    void badNamespaceShouldFailStartup() {
        this.contextRunner.withPropertyValues("distributed.namespace=pivot pools/*")
            .run((context) -> assertInvalid(context, "distributed.namespace",
                    "namespace must be 1 to 128 letters, digits, ':', '.', '-' or '_'"));
    }

    @Test
    void emptyNamespaceShouldFailStartup() {
        this.contextRunner.withPropertyValues("distributed.namespace= ")
            .run((context) -> assertInvalid(context, "distributed.namespace", "must not be empty"));
    }

    @Test
    void leaderTtlNotLongerThanSyncIntervalShouldFailStartup() {
        this.contextRunner.withPropertyValues("distributed.sync-interval=5s", "distributed.leader-ttl=5s")
            .run((context) -> assertInvalid(context, "distributed.leader-ttl",
                    "leader-ttl (PT5S) must be longer than sync-interval (PT5S)"));
    }

    @Test
    void syncIntervalBeyondTheProfilesLeaderTtlShouldFailStartupNamingTheProfile() {
        this.contextRunner.withPropertyValues("distributed.sync-interval=30s")
            .run((context) -> assertInvalid(context, "distributed.leader-ttl",
                    "leader-ttl (PT10S) must be longer than sync-interval (PT30S)")
                .hasMessageContaining("comes from pivot.pool.profile=standard"));
    }

    @Test
    void zeroSyncIntervalShouldFailStartup() {
        this.contextRunner.withPropertyValues("distributed.sync-interval=0ms")
            .run((context) -> assertInvalid(context, "distributed.sync-interval", "sync-interval must be positive"));
    }

    @Test
    void instanceTtlNotLongerThanSyncIntervalShouldFailStartup() {
        this.contextRunner.withPropertyValues("distributed.instance-ttl=1s")
            .run((context) -> assertInvalid(context, "distributed.instance-ttl",
                    "instance-ttl (PT1S) must be longer than sync-interval (PT2S)"));
    }

    @Test
    void badCoordinationNameShouldFailStartup() {
        this.contextRunner.withPropertyValues("distributed.coordination=red is")
            .run((context) -> assertInvalid(context, "distributed.coordination",
                    "coordination must be a backend name"));
    }

    private static AbstractThrowableAssert<?, ?> assertInvalid(AssertableApplicationContext context, String property,
            String rule) {
        assertThat(context).hasFailed();
        return assertThat(invalidProperty(context.getStartupFailure())).as("the failure naming the property")
            .hasMessageContaining("Property " + property + " ")
            .hasMessageContaining(rule);
    }

    /** The failure with the fix that the failure analyzer prints. */
    private static InvalidPropertyException invalidPoolProperty(AssertableApplicationContext context) {
        assertThat(context).hasFailed();
        InvalidConfigurationPropertyValueException invalid = invalidProperty(context.getStartupFailure());
        assertThat(invalid).isInstanceOf(InvalidPropertyException.class);
        return (InvalidPropertyException) invalid;
    }

    static InvalidConfigurationPropertyValueException invalidProperty(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof InvalidConfigurationPropertyValueException invalid) {
                return invalid;
            }
        }
        throw new AssertionError("Start-up failed without naming an invalid property", failure);
    }

    /**
     * A pool rule broken by {@code properties} (of pool {@code renderers}): the property it names,
     * its value and the reason, which is the core's message.
     */
    record BrokenRule(String property, Object value, String reason, String... properties) {

        String[] propertyValues() {
            return Arrays.stream(this.properties).map((p) -> "pivot.pool.pools.renderers." + p).toArray(String[]::new);
        }

        @Override
        public String toString() {
            return String.join(", ", this.properties) + ": " + this.reason;
        }
    }
}
