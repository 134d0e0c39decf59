package io.pivotpool.autoconfigure;

import java.time.Duration;

import io.pivotpool.autoconfigure.TestPools.Parser;
import io.pivotpool.autoconfigure.TestPools.PoolUsers;
import io.pivotpool.autoconfigure.TestPools.PoolUsersConfiguration;
import io.pivotpool.autoconfigure.TestPools.Renderer;
import io.pivotpool.autoconfigure.TestPools.RendererSpec;
import io.pivotpool.autoconfigure.TestPools.TwoSpecs;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.distributed.CoordinationStatus;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.distributed.DistributedSettings;
import io.pivotpool.extension.custom.CustomCoordinator;
import io.pivotpool.pool.Lease;
import io.pivotpool.pool.Overflow;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

/** Tests for {@link PivotPoolAutoConfiguration}. */
@ExtendWith(OutputCaptureExtension.class)
class PivotPoolAutoConfigurationTests {

    private static final String FALLBACK_WARNING = "falling back to the no-op coordinator";

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(PivotPoolAutoConfiguration.class));

    /** The real discovery path: every auto-configuration listed in an AutoConfiguration.imports. */
    private final ApplicationContextRunner discoveringRunner = new ApplicationContextRunner()
        .withUserConfiguration(AutoConfigured.class)
        .withPropertyValues("management.endpoints.jmx.exposure.exclude=*", "spring.jmx.enabled=false");

    // ---- defaults ----------------------------------------------------------------------------

    @Test
    void runByDefaultShouldStartManagerOnNoOpCoordinator() {
        this.contextRunner.run((context) -> {
            assertThat(context).hasSingleBean(DistributedPoolManager.class).hasSingleBean(Coordinator.class);
            CoordinationStatus status = context.getBean(DistributedPoolManager.class).status();
            assertThat(status.requestedBackend()).isEqualTo("none");
            assertThat(status.activeBackend()).isEqualTo("noop");
            assertThat(status.fallbackReason()).isNull();
            assertThat(status.connected()).isTrue();
            assertThat(status.lastSync()).as("started with the context").isNotNull();
            assertThat(status.members()).extracting((member) -> member.id()).containsExactly(status.instanceId());
        });
    }

    @Test
    void runWhenDisabledShouldCreateNeitherManagerNorPools() {
        this.contextRunner.withUserConfiguration(RendererSpec.class)
            .withPropertyValues("pivot.pool.enabled=false")
            .run((context) -> assertThat(context).doesNotHaveBean(DistributedPoolManager.class)
                .doesNotHaveBean(Pool.class)
                .doesNotHaveBean("renderers"));
    }

    @Test
    void runWithDefaultsShouldUseTheStandardProfilesCoordinationTiming() {
        this.contextRunner.run((context) -> assertThat(context.getBean(DistributedSettings.class).syncInterval())
            .isEqualTo(Duration.ofSeconds(2)));
    }

    @Test
    void profileShouldSetCoordinationTimingUnlessAPropertyOverridesIt() {
        this.contextRunner.withPropertyValues("pivot.pool.profile=extreme", "distributed.leader-ttl=7s")
            .run((context) -> {
                DistributedSettings settings = context.getBean(DistributedSettings.class);
                assertThat(settings.syncInterval()).isEqualTo(Duration.ofMillis(500));
                assertThat(settings.leaderTtl()).isEqualTo(Duration.ofSeconds(7));
            });
    }

    // ---- pools from PoolSpec beans -----------------------------------------------------------

    @Test
    void poolSpecBeansShouldBecomePoolBeansInjectableByGenericTypeAndByName() {
        this.contextRunner.withUserConfiguration(TwoSpecs.class, PoolUsersConfiguration.class).run((context) -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBeansOfType(Pool.class)).containsOnlyKeys("renderers", "parsers");
            PoolUsers users = context.getBean(PoolUsers.class);
            assertThat(users.renderers.name()).isEqualTo("renderers");
            assertThat(users.parsers.name()).isEqualTo("parsers");
            assertThat(users.byName).isSameAs(users.renderers);
            try (Lease<Renderer> lease = users.renderers.borrow()) {
                assertThat(lease.get()).isInstanceOf(Renderer.class);
            }
            try (Lease<Parser> lease = users.parsers.borrow()) {
                assertThat(lease.get()).isInstanceOf(Parser.class);
            }
        });
    }

    @Test
    void poolSettingsShouldBeTheProfilesOverriddenByPoolProperties() {
        this.contextRunner.withUserConfiguration(RendererSpec.class)
            .withPropertyValues("pivot.pool.profile=high", "pivot.pool.pools.renderers.max-size=40",
                    "pivot.pool.pools.renderers.overflow=fail", "pivot.pool.pools.renderers.borrow-timeout=750ms")
            .run((context) -> {
                PoolSettings settings = context.getBean("renderers", Pool.class).settings();
                assertThat(settings.maxSize()).isEqualTo(40);
                assertThat(settings.overflow()).isEqualTo(Overflow.FAIL);
                assertThat(settings.borrowTimeout()).isEqualTo(Duration.ofMillis(750));
                assertThat(settings.minIdle()).as("from the high profile").isEqualTo(4);
                assertThat(settings.housekeepingInterval()).as("from the high profile")
                    .isEqualTo(Duration.ofSeconds(2));
                assertThat(settings.emergencyLimit()).as("twice the overridden max-size").isEqualTo(80);
            });
    }

    @Test
    void poolWithoutPropertiesShouldGetTheProfilesSettings() {
        this.contextRunner.withUserConfiguration(RendererSpec.class)
            .withPropertyValues("pivot.pool.profile=test")
            .run((context) -> assertThat(context.getBean("renderers", Pool.class).settings().toString())
                .isEqualTo(io.pivotpool.mode.HighPerformanceMode.Profile.TEST.poolSettings().toString()));
    }

    @Test
    void poolWithGlobalMaxSizeShouldBeRegisteredWithTheManager() {
        this.contextRunner.withUserConfiguration(TwoSpecs.class)
            .withPropertyValues("pivot.pool.pools.renderers.global-max-size=100",
                    "pivot.pool.pools.renderers.partition-size=2")
            .run((context) -> {
                assertThat(context.getBean(DistributedPoolManager.class).status().pools()).containsOnlyKeys("renderers");
                io.pivotpool.distributed.PoolCapacity capacity = context.getBean(DistributedPoolManager.class)
                    .status()
                    .pools()
                    .get("renderers");
                assertThat(capacity.globalMaxSize()).isEqualTo(100);
                assertThat(capacity.partitionSize()).isEqualTo(2);
            });
    }

    @Test
    void aCappedPoolShouldStartAtItsGrantAndTheNoOpCoordinatorGrantsItTheWholeCap() {
        this.contextRunner.withUserConfiguration(TwoSpecs.class)
            .withPropertyValues("pivot.pool.pools.renderers.max-size=10", "pivot.pool.pools.renderers.global-max-size=3")
            .run((context) -> {
                assertThat(context.getBean("renderers", Pool.class).maxSize()).isEqualTo(3);
                assertThat(context.getBean(DistributedPoolManager.class).status().pools().get("renderers").grant())
                    .isEqualTo(3);
            });
    }

    @Test
    void leadershipChangesShouldBePublishedAsApplicationEvents() {
        this.contextRunner.withUserConfiguration(TwoSpecs.class, LeadershipEvents.class).run((context) -> {
            LeadershipEvents events = context.getBean(LeadershipEvents.class);
            org.awaitility.Awaitility.await()
                .atMost(java.time.Duration.ofSeconds(5))
                .until(() -> !events.received.isEmpty());
            LeadershipEvent granted = events.received.get(0);
            assertThat(granted).isInstanceOf(LeadershipEvent.Granted.class);
            assertThat(granted.instanceId()).isEqualTo(context.getBean(DistributedPoolManager.class).instanceId());
            assertThat(granted.fencingToken())
                .isEqualTo(context.getBean(DistributedPoolManager.class).leadership().orElseThrow().fencingToken());
        });
    }

    @Configuration(proxyBeanMethods = false)
    static class LeadershipEvents {

        final java.util.List<LeadershipEvent> received = new java.util.concurrent.CopyOnWriteArrayList<>();

        @org.springframework.context.event.EventListener
        void on(LeadershipEvent event) {
            this.received.add(event);
        }
    }

    @Test
    void poolsShouldBeClosedWhenTheContextCloses() {
        Pool<?>[] pool = new Pool<?>[1];
        this.contextRunner.withUserConfiguration(RendererSpec.class)
            .run((context) -> pool[0] = context.getBean("renderers", Pool.class));
        assertThatIllegalStateException().isThrownBy(pool[0]::borrow);
    }

    @Test
    void poolEntryWithoutAPoolSpecShouldFailStartupNamingTheEntry() {
        this.contextRunner.withUserConfiguration(RendererSpec.class)
            .withPropertyValues("pivot.pool.pools.renderrers.max-size=5")
            .run((context) -> assertThat(InvalidPropertiesTests.invalidProperty(context.getStartupFailure()))
                .hasMessageContaining("pivot.pool.pools.renderrers")
                .hasMessageContaining("no PoolSpec bean declares a pool named 'renderrers'")
                .hasMessageContaining("declared pools: renderers"));
    }

    @Test
    void twoPoolSpecsWithOneNameShouldFailStartup() {
        this.contextRunner.withUserConfiguration(TestPools.DuplicateSpecs.class)
            .run((context) -> assertThat(context).getFailure()
                .hasStackTraceContaining("Pool 'renderers' is declared twice, by the PoolSpec beans 'one' and 'two'"));
    }

    @Test
    void poolSpecBeanNamedLikeItsPoolShouldFailStartupWithAdvice() {
        this.contextRunner.withUserConfiguration(TestPools.SpecNamedLikeItsPool.class)
            .run((context) -> assertThat(context).getFailure()
                .hasStackTraceContaining("a bean named 'renderers' already exists")
                .hasStackTraceContaining("'renderersSpec'"));
    }

    // ---- coordinator selection ---------------------------------------------------------------

    @Test
    void userCoordinatorBeanShouldWinOverTheConfiguredBackend() {
        this.contextRunner.withUserConfiguration(UserCoordinator.class)
            .withPropertyValues("distributed.enabled=true", "distributed.coordination=redis")
            .run((context) -> {
                assertThat(context).hasSingleBean(Coordinator.class);
                assertThat(context.getBean(Coordinator.class)).isInstanceOf(CustomCoordinator.class);
                CoordinationStatus status = context.getBean(DistributedPoolManager.class).status();
                assertThat(status.activeBackend()).isEqualTo("custom");
                assertThat(status.fallbackReason()).isNull();
                assertThat(context.getBean(CustomCoordinator.class).isConnected()).isTrue();
            });
    }

    @Test
    void userCoordinatorBeanShouldBeClosedByItsOwnBeanDefinitionOnly() {
        CustomCoordinator[] coordinator = new CustomCoordinator[1];
        this.contextRunner.withUserConfiguration(UserCoordinator.class)
            .run((context) -> coordinator[0] = context.getBean(CustomCoordinator.class));
        assertThat(coordinator[0].isClosed()).isTrue();
    }

    @Test
    void closingTheContextShouldGiveUpLeadershipAndLeaveTheCluster() {
        CustomCoordinator outlivesContext = new CustomCoordinator("shared", false);
        this.contextRunner
            .withBean("sharedCoordinator", Coordinator.class, () -> outlivesContext,
                    (definition) -> definition.setDestroyMethodName(""))
            .run((context) -> {
                String instance = context.getBean(DistributedPoolManager.class).instanceId();
                assertThat(outlivesContext.liveInstances()).extracting((member) -> member.id())
                    .containsExactly(instance);
                assertThat(outlivesContext.currentLeader()).hasValueSatisfying(
                        (lease) -> assertThat(lease.holderId()).isEqualTo(instance));
            });
        assertThat(outlivesContext.liveInstances()).isEmpty();
        assertThat(outlivesContext.currentLeader()).isEmpty();
        assertThat(outlivesContext.isClosed()).as("a user's coordinator is closed by its own definition").isFalse();
    }

    @Test
    void extensionOnTheClassPathShouldBeSelectedByItsName() {
        this.discoveringRunner.withClassLoader(TestExtension.onClassPath())
            .withPropertyValues("distributed.enabled=true", "distributed.coordination=custom",
                    "distributed.namespace=orders:pools")
            .run((context) -> {
                assertThat(context).hasNotFailed();
                CoordinationStatus status = context.getBean(DistributedPoolManager.class).status();
                assertThat(status.requestedBackend()).isEqualTo("custom");
                assertThat(status.activeBackend()).isEqualTo("custom");
                assertThat(status.fallbackReason()).isNull();
                assertThat(status.connected()).isTrue();
                assertThat(status.isLeader()).isTrue();
                Coordinator coordinator = context.getBean(Coordinator.class);
                assertThat(coordinator.name()).isEqualTo("custom");
            });
    }

    @Test
    void extensionShouldNotBeFoundWithoutItsJar(CapturedOutput output) {
        this.discoveringRunner.withPropertyValues("distributed.enabled=true", "distributed.coordination=custom")
            .run((context) -> {
                CoordinationStatus status = context.getBean(DistributedPoolManager.class).status();
                assertThat(status.activeBackend()).isEqualTo("noop");
                assertThat(status.fallbackReason()).contains("no coordinator named 'custom' is on the classpath");
            });
        assertThat(occurrences(output, FALLBACK_WARNING)).isOne();
    }

    @Test
    void backendWhoseClassIsMissingShouldFallBackToNoOpWithOneWarning(CapturedOutput output) {
        this.discoveringRunner.withClassLoader(TestExtension.withoutBackendClass())
            .withPropertyValues("distributed.enabled=true", "distributed.coordination=custom")
            .run((context) -> {
                assertThat(context).hasNotFailed();
                CoordinationStatus status = context.getBean(DistributedPoolManager.class).status();
                assertThat(status.requestedBackend()).isEqualTo("custom");
                assertThat(status.activeBackend()).isEqualTo("noop");
                assertThat(status.fallbackReason())
                    // This module knows no backend: with the extension's class gone, none is left.
                    .contains("no coordinator named 'custom' is on the classpath; available: none");
            });
        assertThat(occurrences(output, FALLBACK_WARNING)).isOne();
        assertThat(output).contains("WARN").contains("'custom'");
    }

    @Test
    void unknownBackendNameShouldFallBackToNoOpNamingTheAvailableOnes(CapturedOutput output) {
        this.discoveringRunner.withClassLoader(TestExtension.onClassPath())
            .withPropertyValues("distributed.enabled=true", "distributed.coordination=zookeeper")
            .run((context) -> {
                assertThat(context).hasNotFailed();
                CoordinationStatus status = context.getBean(DistributedPoolManager.class).status();
                assertThat(status.activeBackend()).isEqualTo("noop");
                assertThat(status.fallbackReason()).contains("'zookeeper'").contains("available: custom");
            });
        assertThat(occurrences(output, FALLBACK_WARNING)).isOne();
    }

    @Test
    void backendThatCannotConnectShouldBeKeptForItsRoundsToConnectLater(CapturedOutput output) {
        this.discoveringRunner.withClassLoader(TestExtension.onClassPath())
            .withPropertyValues("distributed.enabled=true", "distributed.coordination=custom",
                    "custom.refuse-connections=true")
            .run((context) -> {
                assertThat(context).hasNotFailed();
                CoordinationStatus status = context.getBean(DistributedPoolManager.class).status();
                assertThat(status.activeBackend()).isEqualTo("custom");
                assertThat(status.fallbackReason()).isNull();
                assertThat(status.connected()).isFalse();
                assertThat(status.lastError()).contains("refused the connection");
            });
        assertThat(output).contains("Coordination backend 'custom' could not connect")
            .contains("keeping it and trying again every sync-interval");
        assertThat(occurrences(output, FALLBACK_WARNING)).isZero();
    }

    @Test
    void failFastShouldTurnAFallbackIntoAStartupFailure() {
        this.discoveringRunner.withClassLoader(TestExtension.onClassPath())
            .withPropertyValues("distributed.enabled=true", "distributed.coordination=custom",
                    "custom.refuse-connections=true", "distributed.fail-fast=true")
            .run((context) -> assertThat(context).getFailure()
                .rootCause()
                .isInstanceOf(CoordinatorException.class)
                .hasMessageContaining("Coordination backend 'custom' could not connect")
                .hasMessageContaining("refused the connection")
                .hasMessageContaining("distributed.fail-fast is true"));
    }

    @Test
    void failFastShouldRejectAnUnknownBackendToo() {
        this.contextRunner.withPropertyValues("distributed.enabled=true", "distributed.coordination=etcd",
                "distributed.fail-fast=true")
            .run((context) -> assertThat(context).getFailure()
                .rootCause()
                .isInstanceOf(CoordinatorException.class)
                .hasMessageContaining("no coordinator named 'etcd'"));
    }

    @Test
    void coordinationDisabledShouldIgnoreTheBackendName(CapturedOutput output) {
        this.discoveringRunner.withClassLoader(TestExtension.onClassPath())
            .withPropertyValues("distributed.coordination=custom")
            .run((context) -> assertThat(context.getBean(DistributedPoolManager.class).status().activeBackend())
                .isEqualTo("noop"));
        assertThat(output).doesNotContain(FALLBACK_WARNING);
    }

    private static int occurrences(CapturedOutput output, String text) {
        return output.getAll().split(java.util.regex.Pattern.quote(text), -1).length - 1;
    }

    @Configuration(proxyBeanMethods = false)
    @EnableAutoConfiguration
    static class AutoConfigured {

    }

    @Configuration(proxyBeanMethods = false)
    static class UserCoordinator {

        @Bean
        CustomCoordinator myCoordinator() {
            return new CustomCoordinator("mine", false);
        }
    }
}
