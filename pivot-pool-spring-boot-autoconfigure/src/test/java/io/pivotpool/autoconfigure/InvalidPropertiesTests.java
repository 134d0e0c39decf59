package io.pivotpool.autoconfigure;

import io.pivotpool.autoconfigure.TestPools.RendererSpec;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;

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

    @Test
    void negativeMaxSizeShouldFailStartup() {
        this.contextRunner.withPropertyValues("pivot.pool.pools.renderers.max-size=-1")
            .run((context) -> assertInvalid(context, "pivot.pool.pools.renderers.max-size",
                    "max-size must be at least 1, was -1"));
    }

    @Test
    void negativeMinIdleShouldFailStartup() {
        this.contextRunner.withPropertyValues("pivot.pool.pools.renderers.min-idle=-2")
            .run((context) -> assertInvalid(context, "pivot.pool.pools.renderers.min-idle",
                    "min-idle must not be negative, was -2"));
    }

    @Test
    void minIdleAboveMaxSizeShouldFailStartup() {
        this.contextRunner
            .withPropertyValues("pivot.pool.pools.renderers.min-idle=8", "pivot.pool.pools.renderers.max-size=4")
            .run((context) -> assertInvalid(context, "pivot.pool.pools.renderers.min-idle",
                    "min-idle (8) must not exceed max-size (4)"));
    }

    @Test
    void maxSizeBelowTheProfilesMinIdleShouldFailStartupNamingTheProfile() {
        this.contextRunner.withPropertyValues("pivot.pool.profile=extreme", "pivot.pool.pools.renderers.max-size=8")
            .run((context) -> assertInvalid(context, "pivot.pool.pools.renderers.min-idle",
                    "min-idle (16) must not exceed max-size (8)")
                .hasMessageContaining("comes from pivot.pool.profile=extreme"));
    }

    @Test
    void emergencyLimitBelowMaxSizeShouldFailStartup() {
        this.contextRunner
            .withPropertyValues("pivot.pool.pools.renderers.max-size=10",
                    "pivot.pool.pools.renderers.emergency-limit=5")
            .run((context) -> assertInvalid(context, "pivot.pool.pools.renderers.emergency-limit",
                    "emergency-limit (5) must be at least max-size (10)"));
    }

    @Test
    void negativeBorrowTimeoutShouldFailStartup() {
        this.contextRunner.withPropertyValues("pivot.pool.pools.renderers.borrow-timeout=-1s")
            .run((context) -> assertInvalid(context, "pivot.pool.pools.renderers.borrow-timeout",
                    "borrow-timeout must not be negative"));
    }

    @Test
    void zeroHousekeepingIntervalShouldFailStartup() {
        this.contextRunner.withPropertyValues("pivot.pool.pools.renderers.housekeeping-interval=0s")
            .run((context) -> assertInvalid(context, "pivot.pool.pools.renderers.housekeeping-interval",
                    "housekeeping-interval must be positive"));
    }

    @Test
    void globalMaxSizeBelowOneShouldFailStartup() {
        this.contextRunner.withPropertyValues("pivot.pool.pools.renderers.global-max-size=0")
            .run((context) -> assertInvalid(context, "pivot.pool.pools.renderers.global-max-size",
                    "global-max-size must be at least 1, was 0"));
    }

    @Test
    void partitionSizeWithoutGlobalMaxSizeShouldFailStartup() {
        this.contextRunner.withPropertyValues("pivot.pool.pools.renderers.partition-size=1")
            .run((context) -> assertInvalid(context, "pivot.pool.pools.renderers.partition-size",
                    "partition-size applies only to a pool with a global-max-size"));
    }

    @Test
    void partitionSizeAboveGlobalMaxSizeShouldFailStartup() {
        this.contextRunner
            .withPropertyValues("pivot.pool.pools.renderers.global-max-size=4",
                    "pivot.pool.pools.renderers.partition-size=5")
            .run((context) -> assertInvalid(context, "pivot.pool.pools.renderers.partition-size",
                    "partition-size (5) must be between 0 and global-max-size (4)"));
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

    static InvalidConfigurationPropertyValueException invalidProperty(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof InvalidConfigurationPropertyValueException invalid) {
                return invalid;
            }
        }
        throw new AssertionError("Start-up failed without naming an invalid property", failure);
    }
}
