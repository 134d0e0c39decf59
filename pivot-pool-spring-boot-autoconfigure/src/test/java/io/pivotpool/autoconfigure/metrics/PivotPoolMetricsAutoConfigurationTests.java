package io.pivotpool.autoconfigure.metrics;

import java.util.concurrent.atomic.AtomicLong;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.pivotpool.autoconfigure.AfterNames;
import io.pivotpool.autoconfigure.PivotPoolAutoConfiguration;
import io.pivotpool.autoconfigure.TestPools.Renderer;
import io.pivotpool.autoconfigure.TestPools.RendererSpec;
import io.pivotpool.extension.custom.CustomCoordinator;
import io.pivotpool.pool.Lease;
import io.pivotpool.pool.Pool;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import static org.assertj.core.api.Assertions.assertThat;

/** Tests for {@link PivotPoolMetricsAutoConfiguration}. */
class PivotPoolMetricsAutoConfigurationTests {

    private static final String[] POOL_GAUGES = { "active", "idle", "waiting", "size", "max.size" };

    private static final String[] POOL_COUNTERS = { "created.objects", "destroyed.objects", "timeouts",
            "overflow.objects", "borrows", "creation.failures", "leaks" };

    /**
     * Ours first, Boot's after: the sorter must honour the afterName strings for the
     * {@code @ConditionalOnBean(MeterRegistry.class)} to see the registry.
     */
    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(PivotPoolMetricsAutoConfiguration.class,
                PivotPoolAutoConfiguration.class, SimpleMetricsExportAutoConfiguration.class,
                CompositeMeterRegistryAutoConfiguration.class, MetricsAutoConfiguration.class))
        .withUserConfiguration(RendererSpec.class);

    @Test
    void afterNamesShouldNameClassesThatExist() {
        AfterNames.assertTheyExist(PivotPoolMetricsAutoConfiguration.class);
    }

    @Test
    void poolMetersShouldBePresentPerPool() {
        this.contextRunner.run((context) -> {
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            @SuppressWarnings("unchecked")
            Pool<Renderer> renderers = context.getBean("renderers", Pool.class);
            try (Lease<Renderer> lease = renderers.borrow()) {
                assertThat(lease.get()).isNotNull();
                assertThat(registry.get("pivot.pool.active").tag("pool", "renderers").gauge().value()).isEqualTo(1);
                assertThat(registry.get("pivot.pool.idle").tag("pool", "renderers").gauge().value()).isZero();
            }
            // A meter read a second time starts a new reading: the lease is back.
            assertThat(registry.get("pivot.pool.active").tag("pool", "renderers").gauge().value()).isZero();
            for (String gauge : POOL_GAUGES) {
                assertThat(registry.find("pivot.pool." + gauge).tag("pool", "renderers").gauge()).as(gauge)
                    .isNotNull();
            }
            for (String counter : POOL_COUNTERS) {
                assertThat(registry.find("pivot.pool." + counter).tag("pool", "renderers").functionCounter())
                    .as(counter)
                    .isNotNull();
            }
            assertThat(registry.get("pivot.pool.idle").tag("pool", "renderers").gauge().value()).isEqualTo(1);
            assertThat(registry.get("pivot.pool.max.size").tag("pool", "renderers").gauge().value()).isEqualTo(10);
            FunctionCounter borrows = registry.get("pivot.pool.borrows").tag("pool", "renderers").functionCounter();
            assertThat(borrows.count()).isEqualTo(1);
            Timer wait = registry.get("pivot.pool.wait").tag("pool", "renderers").timer();
            assertThat(wait.count()).as("a borrow served at once is no wait").isZero();
        });
    }

    @Test
    void coordinatorMetersShouldBePresent() {
        this.contextRunner.run((context) -> {
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            assertThat(registry.get("pivot.coordinator.connected").tag("backend", "noop").gauge().value()).isEqualTo(1);
            assertThat(registry.get("pivot.coordinator.leader").tag("backend", "noop").gauge().value()).isEqualTo(1);
            assertThat(registry.get("pivot.coordinator.members").tag("backend", "noop").gauge().value()).isEqualTo(1);
            assertThat(registry.get("pivot.coordinator.fallback").tag("requested", "none").functionCounter().count())
                .isZero();
            Timer register = registry.get("pivot.coordinator.operation")
                .tags("operation", "register", "backend", "noop", "outcome", "success")
                .timer();
            assertThat(register.count()).as("the manager registered this instance once, timed").isEqualTo(1);
            assertThat(registry.find("pivot.coordinator.operation").tag("operation", "liveInstances").timer())
                .isNotNull();
        });
    }

    @Test
    void capacityConflictsShouldBeCountedWhereTheBackendHasThem() {
        this.contextRunner.withUserConfiguration(ConflictingBackend.class).run((context) -> {
            FunctionCounter conflicts = context.getBean(MeterRegistry.class)
                .get("pivot.coordinator.capacity.conflicts")
                .tag("backend", "custom")
                .functionCounter();
            assertThat(conflicts.count()).isZero();
            context.getBean(ConflictCountingCoordinator.class).conflicts.set(3);
            assertThat(conflicts.count()).as("read through the coordinator the manager wraps").isEqualTo(3);
        });
    }

    @Test
    void capacityConflictsShouldNotBeBoundWhereTheBackendHasNone() {
        this.contextRunner.run((context) -> assertThat(
                context.getBean(MeterRegistry.class).find("pivot.coordinator.capacity.conflicts").functionCounter())
            .isNull());
    }

    @Test
    void fallbackShouldBeCounted() {
        this.contextRunner.withPropertyValues("distributed.enabled=true", "distributed.coordination=redis")
            .run((context) -> assertThat(context.getBean(MeterRegistry.class)
                .get("pivot.coordinator.fallback")
                .tags("requested", "redis", "backend", "noop")
                .functionCounter()
                .count()).isEqualTo(1));
    }

    @Test
    void runWhenDisabledShouldNotBindMeters() {
        this.contextRunner.withPropertyValues("pivot.pool.metrics.enabled=false").run((context) -> {
            assertThat(context).doesNotHaveBean(PoolMeterBinder.class).doesNotHaveBean(CoordinatorOperationTimer.class);
            assertThat(context.getBean(MeterRegistry.class).find("pivot.pool.active").gauges()).isEmpty();
        });
    }

    @Test
    void runWithoutMeterRegistryShouldNotCreateBinders() {
        new ApplicationContextRunner()
            .withConfiguration(
                    AutoConfigurations.of(PivotPoolMetricsAutoConfiguration.class, PivotPoolAutoConfiguration.class))
            .run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(PoolMeterBinder.class));
    }

    @Test
    void runWithoutMicrometerShouldNotCreateBinders() {
        new ApplicationContextRunner()
            .withConfiguration(
                    AutoConfigurations.of(PivotPoolMetricsAutoConfiguration.class, PivotPoolAutoConfiguration.class))
            .withClassLoader(new FilteredClassLoader(MeterRegistry.class))
            .run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(PoolMeterBinder.class));
    }

    /** A backend whose grants can conflict, as etcd's do. */
    static class ConflictCountingCoordinator extends CustomCoordinator {

        final AtomicLong conflicts = new AtomicLong();

        ConflictCountingCoordinator() {
            super("conflicts", false);
        }

        @Override
        public long capacityConflicts() {
            return this.conflicts.get();
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class ConflictingBackend {

        @Bean
        ConflictCountingCoordinator conflictCountingCoordinator() {
            return new ConflictCountingCoordinator();
        }
    }
}
