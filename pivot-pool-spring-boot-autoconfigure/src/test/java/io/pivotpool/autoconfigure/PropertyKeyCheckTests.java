package io.pivotpool.autoconfigure;

import io.pivotpool.autoconfigure.TestPools.RendererSpec;
import io.pivotpool.extension.custom.CustomCoordinatorAutoConfiguration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import static org.assertj.core.api.Assertions.assertThat;

/** Tests for {@link PropertyKeyCheck}: typos fail ({@code pivot.pool.*}) or warn ({@code distributed.*}). */
@ExtendWith(OutputCaptureExtension.class)
class PropertyKeyCheckTests {

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(PivotPoolAutoConfiguration.class))
        .withUserConfiguration(RendererSpec.class);

    @Test
    void misspelledPoolKeyShouldFailStartupNamingTheNearestKey() {
        this.contextRunner.withPropertyValues("pivot.pool.pools.renderers.max-szie=4")
            .run((context) -> assertThat(context).getFailure()
                .isInstanceOf(UnknownPropertyException.class)
                .hasMessageContaining("unknown key pivot.pool.pools.renderers.max-szie")
                .hasMessageContaining("did you mean pivot.pool.pools.renderers.max-size?"));
    }

    @Test
    void misspelledGroupShouldFailStartupNamingTheGroup() {
        this.contextRunner.withPropertyValues("pivot.pool.pool.renderers.max-size=4")
            .run((context) -> assertThat(context).getFailure()
                .hasMessageContaining("unknown key pivot.pool.pool.renderers.max-size")
                .hasMessageContaining("did you mean pivot.pool.pools.renderers.max-size?"));
        this.contextRunner.withPropertyValues("pivot.pool.pool.x=1")
            .run((context) -> assertThat(context).getFailure()
                .hasMessageContaining("unknown key pivot.pool.pool.x")
                .hasMessageContaining("did you mean pivot.pool.pools.x?"));
    }

    @Test
    void misspelledDistributedKeyShouldWarnNamingTheNearestKey(CapturedOutput output) {
        this.contextRunner.withPropertyValues("distributed.enabeld=true")
            .run((context) -> assertThat(context).hasNotFailed());
        assertThat(output).contains("WARN")
            .contains("unknown key distributed.enabeld")
            .contains("did you mean distributed.enabled?")
            .contains("Rename distributed.enabeld to distributed.enabled, or remove it.");
    }

    @Test
    void aMapGivenForANamespaceShouldFailStartup() {
        // What YAML makes of an unquoted "namespace: {orders}".
        this.contextRunner.withPropertyValues("distributed.namespace.orders=")
            .run((context) -> assertThat(context).getFailure()
                .isInstanceOf(UnknownPropertyException.class)
                .hasMessageContaining("distributed.namespace takes one value but was given a map or list "
                        + "(distributed.namespace.orders"));
    }

    @Test
    void everyKnownKeyInAnyRelaxedFormShouldPass(CapturedOutput output) {
        this.contextRunner
            .withPropertyValues("pivot.pool.enabled=true", "pivot.pool.profile=high", "pivot.pool.metrics.enabled=true",
                    "pivot.pool.pools.renderers.min-idle=1", "pivot.pool.pools.renderers.maxSize=8",
                    "pivot.pool.pools.renderers.overflow=wait", "pivot.pool.pools.renderers.emergency_limit=16",
                    "pivot.pool.pools.renderers.borrow-timeout=1s", "pivot.pool.pools.renderers.idle-timeout=1m",
                    "pivot.pool.pools.renderers.max-lifetime=0", "pivot.pool.pools.renderers.check-lifetime-on-borrow=false",
                    "pivot.pool.pools.renderers.leak-detection-threshold=0",
                    "pivot.pool.pools.renderers.housekeeping-interval=1s",
                    "pivot.pool.pools.renderers.global-max-size=8", "pivot.pool.pools.renderers.partition-size=2",
                    "distributed.enabled=false", "distributed.coordination=none", "distributed.namespace=a:b",
                    "distributed.sync-interval=1s", "distributed.leader-election=true", "distributed.leader-ttl=5s",
                    "distributed.rebalance-interval=5s", "distributed.instance-ttl=3s", "distributed.fail-fast=false")
            .run((context) -> assertThat(context).hasNotFailed());
        assertThat(output).doesNotContain("unknown key");
    }

    @Test
    void keysOfABackendOnTheClassPathShouldBeLeftToIt(CapturedOutput output) {
        this.contextRunner.withConfiguration(AutoConfigurations.of(CustomCoordinatorAutoConfiguration.class))
            .withPropertyValues("distributed.custom.endpoints=http://custom.example:7000")
            .run((context) -> assertThat(context).hasNotFailed());
        assertThat(output).doesNotContain("unknown key");
    }

    @Test
    void keysOfAMissingBackendShouldWarn(CapturedOutput output) {
        this.contextRunner.withPropertyValues("distributed.etcd.endpoints=http://localhost:2379")
            .run((context) -> assertThat(context).hasNotFailed());
        assertThat(output).contains("unknown key distributed.etcd.endpoints");
    }

    @Test
    void keysUnderADeclaredPrefixShouldBeLeftToTheirModule(CapturedOutput output) {
        this.contextRunner.withBean(BackendPropertyPrefix.class, () -> new BackendPropertyPrefix("distributed.zk"))
            .withPropertyValues("distributed.zk.connect-string=localhost:2181")
            .run((context) -> assertThat(context).hasNotFailed());
        assertThat(output).doesNotContain("unknown key");
    }
}
