package io.pivotpool.autoconfigure.observation;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import io.pivotpool.autoconfigure.AfterNames;
import io.pivotpool.autoconfigure.PivotPoolAutoConfiguration;
import io.pivotpool.autoconfigure.TestPools.RendererSpec;
import io.pivotpool.autoconfigure.metrics.PivotPoolMetricsAutoConfiguration;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.NoOpCoordinator;
import io.pivotpool.distributed.internal.ObservedCoordinator;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class PivotPoolObservationAutoConfigurationTests {

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(PivotPoolObservationAutoConfiguration.class,
                PivotPoolAutoConfiguration.class))
        .withUserConfiguration(RendererSpec.class);

    @Test
    void afterNamesShouldNameClassesThatExist() {
        AfterNames.assertTheyExist(PivotPoolObservationAutoConfiguration.class);
    }

    @Test
    void everyCoordinatorCallShouldBeAnObservationWithLowCardinalityKeys() {
        this.contextRunner.withUserConfiguration(RecordingRegistry.class).run((context) -> {
            assertThat(context).hasSingleBean(CoordinatorObservations.class);
            List<Observation.Context> seen = context.getBean(RecordingRegistry.class).stopped;
            assertThat(seen).as("the manager's registration, observed").anySatisfy((observed) -> {
                assertThat(observed.getName()).isEqualTo(CoordinatorObservations.NAME);
                assertThat(observed.getContextualName()).isEqualTo("coordinator register");
                assertThat(observed.getLowCardinalityKeyValue("operation").getValue()).isEqualTo("register");
                assertThat(observed.getLowCardinalityKeyValue("backend").getValue()).isEqualTo("noop");
                assertThat(observed.getLowCardinalityKeyValue("outcome").getValue()).isEqualTo("success");
                assertThat(observed.getError()).isNull();
            });
            assertThat(seen).allSatisfy((observed) -> assertThat(observed.getHighCardinalityKeyValues()).isEmpty());
        });
    }

    @Test
    void theOperationTimerShouldStillCountEveryCallNextToTheObservations() {
        this.contextRunner.withUserConfiguration(RecordingRegistry.class)
            .withConfiguration(AutoConfigurations.of(PivotPoolMetricsAutoConfiguration.class,
                    SimpleMetricsExportAutoConfiguration.class, CompositeMeterRegistryAutoConfiguration.class,
                    MetricsAutoConfiguration.class))
            .run((context) -> {
                MeterRegistry meters = context.getBean(MeterRegistry.class);
                assertThat(meters.get("pivot.coordinator.operation").tag("operation", "register").timer().count())
                    .isEqualTo(1);
                assertThat(context.getBean(RecordingRegistry.class).stopped)
                    .filteredOn((observed) -> "register".equals(observed.getLowCardinalityKeyValue("operation").getValue()))
                    .hasSize(1);
            });
    }

    @Test
    void anObserverThatThrowsShouldNeitherFailACallNorLeaveAnObservationRunning() {
        this.contextRunner.withUserConfiguration(RecordingRegistry.class, ThrowingObserver.class).run((context) -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(RecordingRegistry.class).stopped)
                .filteredOn((observed) -> "register".equals(observed.getLowCardinalityKeyValue("operation").getValue()))
                .singleElement()
                .satisfies((observed) -> assertThat(observed.getLowCardinalityKeyValue("outcome").getValue())
                    .isEqualTo("success"));
        });
    }

    @Test
    void withoutAnObservationRegistryNothingShouldBeObserved() {
        this.contextRunner.run((context) -> assertThat(context).doesNotHaveBean(CoordinatorObservations.class));
    }

    @Test
    void aFailedCallShouldBeObservedAsAFailureWithItsError() {
        RecordingRegistry recording = new RecordingRegistry();
        ObservedCoordinator coordinator = new ObservedCoordinator(new NoOpCoordinator(),
                new CoordinatorObservations(recording.observationRegistry()));
        assertThatIllegalArgumentException()
            .isThrownBy(() -> coordinator.register(new InstanceInfo("a", "h", 1L, java.util.Map.of()), Duration.ZERO));
        assertThat(recording.stopped).singleElement().satisfies((observed) -> {
            assertThat(observed.getLowCardinalityKeyValue("outcome").getValue()).isEqualTo("failure");
            assertThat(observed.getError()).isInstanceOf(IllegalArgumentException.class);
        });
    }

    /** An observer whose every hook throws, ordered before the observations. */
    @Configuration(proxyBeanMethods = false)
    static class ThrowingObserver {

        @Bean
        @org.springframework.core.annotation.Order(0)
        io.pivotpool.coordinator.CoordinatorObserver throwingObserver() {
            return new io.pivotpool.coordinator.CoordinatorObserver() {
                @Override
                public void onOperation(String operation, String backend, long nanos, boolean success) {
                    throw new IllegalStateException("observer broken");
                }

                @Override
                public Call started(String operation, String backend) {
                    throw new IllegalStateException("observer broken");
                }
            };
        }
    }

    /** An observation registry that keeps every observation it saw stop. */
    @Configuration(proxyBeanMethods = false)
    static class RecordingRegistry {

        final List<Observation.Context> stopped = new CopyOnWriteArrayList<>();

        @Bean
        ObservationRegistry observationRegistry() {
            ObservationRegistry registry = ObservationRegistry.create();
            registry.observationConfig().observationHandler(new ObservationHandler<>() {
                @Override
                public boolean supportsContext(Observation.Context context) {
                    return true;
                }

                @Override
                public void onStop(Observation.Context context) {
                    RecordingRegistry.this.stopped.add(context);
                }
            });
            return registry;
        }
    }
}
