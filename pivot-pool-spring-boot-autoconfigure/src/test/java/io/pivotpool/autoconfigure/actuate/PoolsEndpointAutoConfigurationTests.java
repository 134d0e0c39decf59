package io.pivotpool.autoconfigure.actuate;

import java.util.Map;

import io.pivotpool.autoconfigure.PivotPoolAutoConfiguration;
import io.pivotpool.autoconfigure.TestPools.Renderer;
import io.pivotpool.autoconfigure.TestPools.TwoSpecs;
import io.pivotpool.autoconfigure.actuate.PoolsEndpoint.PoolDescriptor;
import io.pivotpool.autoconfigure.actuate.PoolsEndpoint.PoolsDescriptor;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.distributed.PoolCapacity;
import io.pivotpool.pool.Lease;
import io.pivotpool.pool.Pool;
import org.junit.jupiter.api.Test;

import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;

/** Tests for {@link PoolsEndpointAutoConfiguration} and the {@link PoolsEndpoint} it creates. */
class PoolsEndpointAutoConfigurationTests {

    private static final String PASSWORD = "n0t-In-0utput";

    /** Listed before the auto-configuration it must follow: the sorter has to put it after. */
    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(
                AutoConfigurations.of(PoolsEndpointAutoConfiguration.class, PivotPoolAutoConfiguration.class))
        .withUserConfiguration(TwoSpecs.class);

    @Test
    void aFollowersCapacityLeavesOutTheDistributionItDoesNotHave() {
        PoolsEndpoint.CapacityDescriptor follower = PoolsEndpoint.CapacityDescriptor
            .of(new PoolCapacity(6, 6, 3, 3, 1, 3, false, Map.of()));
        assertThat(follower.distribution()).as("left out of the JSON").isNull();
        PoolsEndpoint.CapacityDescriptor leader = PoolsEndpoint.CapacityDescriptor
            .of(new PoolCapacity(6, 6, 3, 3, 1, 3, false, Map.of("a", 3, "b", 3)));
        assertThat(leader.distribution()).containsEntry("a", 3).containsEntry("b", 3);
    }

    @Test
    void runWhenNotExposedShouldNotCreateEndpoint() {
        this.contextRunner.run((context) -> assertThat(context).doesNotHaveBean(PoolsEndpoint.class));
    }

    @Test
    void runWhenExposedOverWebShouldCreateEndpoint() {
        this.contextRunner.withPropertyValues("management.endpoints.web.exposure.include=pools")
            .run((context) -> assertThat(context).hasSingleBean(PoolsEndpoint.class));
    }

    /** Upper case: a bare context runner lacks Boot's lenient enum conversion, which accepts {@code none}. */
    @Test
    void runWhenExposedButAccessIsNoneShouldNotCreateEndpoint() {
        this.contextRunner
            .withPropertyValues("management.endpoints.web.exposure.include=pools",
                    "management.endpoint.pools.access=NONE")
            .run((context) -> assertThat(context).doesNotHaveBean(PoolsEndpoint.class));
    }

    @Test
    void runWithoutActuatorShouldNotCreateEndpoint() {
        this.contextRunner.withClassLoader(new FilteredClassLoader(Endpoint.class))
            .withPropertyValues("management.endpoints.web.exposure.include=pools")
            .run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(PoolsEndpoint.class));
    }

    @Test
    void runWhenPivotPoolIsDisabledShouldNotCreateEndpoint() {
        this.contextRunner.withPropertyValues("management.endpoints.web.exposure.include=pools",
                "pivot.pool.enabled=false")
            .run((context) -> assertThat(context).doesNotHaveBean(PoolsEndpoint.class));
    }

    @Test
    void poolsShouldDescribeInstanceCoordinatorAndEveryPool() {
        this.contextRunner
            .withPropertyValues("management.endpoints.web.exposure.include=pools",
                    "pivot.pool.pools.renderers.max-size=3", "pivot.pool.pools.renderers.global-max-size=9")
            .run((context) -> {
                @SuppressWarnings("unchecked")
                Pool<Renderer> renderers = context.getBean("renderers", Pool.class);
                Lease<Renderer> held = renderers.borrow();
                renderers.borrow().close();
                PoolsDescriptor descriptor = context.getBean(PoolsEndpoint.class).pools();
                held.close();
                DistributedPoolManager manager = context.getBean(DistributedPoolManager.class);
                assertThat(descriptor.instance()).isEqualTo(manager.instanceId());
                assertThat(descriptor.coordinator().requestedBackend()).isEqualTo("none");
                assertThat(descriptor.coordinator().activeBackend()).isEqualTo("noop");
                assertThat(descriptor.coordinator().connected()).isTrue();
                assertThat(descriptor.coordinator().fallbackReason()).isNull();
                assertThat(descriptor.coordinator().isLeader()).isTrue();
                assertThat(descriptor.coordinator().leaderId()).isEqualTo(manager.instanceId());
                assertThat(descriptor.coordinator().fencingToken()).isPositive();
                assertThat(descriptor.coordinator().members()).singleElement()
                    .satisfies((member) -> assertThat(member.id()).isEqualTo(manager.instanceId()));
                assertThat(descriptor.coordinator().lastSync()).isNotNull();
                assertThat(descriptor.pools()).containsOnlyKeys("parsers", "renderers");
                PoolDescriptor pool = descriptor.pools().get("renderers");
                assertThat(pool.size()).isEqualTo(2);
                assertThat(pool.active()).isEqualTo(1);
                assertThat(pool.idle()).isEqualTo(1);
                assertThat(pool.waiting()).isZero();
                assertThat(pool.maxSize()).isEqualTo(3);
                assertThat(pool.capacity().globalMaxSize()).isEqualTo(9);
                assertThat(pool.capacity().grant()).as("alone: the whole cap within max-size 3").isEqualTo(3);
                assertThat(pool.capacity().partitioned()).isFalse();
                assertThat(pool.capacity().distribution()).containsEntry(manager.instanceId(), 3);
                assertThat(pool.created()).isEqualTo(2);
                assertThat(pool.borrows()).isEqualTo(2);
                assertThat(pool.timeouts()).isZero();
                assertThat(pool.waitTime().borrows()).isEqualTo(2);
                assertThat(pool.waitTime().count()).as("borrows that waited: none, as the wait timer counts").isZero();
                assertThat(descriptor.pools().get("parsers").capacity()).as("no cluster-wide cap").isNull();
            });
    }

    @Test
    void poolByNameShouldDescribeThatPool() {
        this.contextRunner.withPropertyValues("management.endpoints.web.exposure.include=pools",
                "pivot.pool.pools.parsers.max-size=7")
            .run((context) -> assertThat(context.getBean(PoolsEndpoint.class).pool("parsers").maxSize()).isEqualTo(7));
    }

    @Test
    void poolByNameShouldBeNullWhenNoPoolHasThatName() {
        this.contextRunner.withPropertyValues("management.endpoints.web.exposure.include=pools")
            .run((context) -> assertThat(context.getBean(PoolsEndpoint.class).pool("printers")).isNull());
    }

    @Test
    void fallbackShouldBeVisibleInTheEndpoint() {
        this.contextRunner
            .withPropertyValues("management.endpoints.web.exposure.include=pools", "distributed.enabled=true",
                    "distributed.coordination=redis")
            .run((context) -> {
                PoolsDescriptor descriptor = context.getBean(PoolsEndpoint.class).pools();
                assertThat(descriptor.coordinator().requestedBackend()).isEqualTo("redis");
                assertThat(descriptor.coordinator().activeBackend()).isEqualTo("noop");
                assertThat(descriptor.coordinator().fallbackReason()).contains("no coordinator named 'redis'");
            });
    }

    @Test
    void endpointShouldNeverShowThePassword() {
        this.contextRunner
            .withPropertyValues("management.endpoints.web.exposure.include=pools", "distributed.enabled=true",
                    "distributed.coordination=redis", "distributed.redis.password=" + PASSWORD)
            .run((context) -> assertThat(context.getBean(PoolsEndpoint.class).pools().toString())
                .doesNotContain(PASSWORD));
    }
}
