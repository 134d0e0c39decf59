package io.pivotpool.autoconfigure.health;

import java.time.Duration;

import io.pivotpool.autoconfigure.PivotPoolAutoConfiguration;
import io.pivotpool.extension.custom.CustomCoordinator;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Tests for {@link PivotPoolHealthContributorAutoConfiguration} and the {@link CoordinatorHealthIndicator}. */
class PivotPoolHealthContributorAutoConfigurationTests {

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(PivotPoolHealthContributorAutoConfiguration.class,
                PivotPoolAutoConfiguration.class));

    @Test
    void runShouldCreateIndicator() {
        this.contextRunner.run((context) -> assertThat(context).hasSingleBean(CoordinatorHealthIndicator.class)
            .hasBean("pivotPoolHealthIndicator"));
    }

    @Test
    void runWhenDisabledShouldNotCreateIndicator() {
        this.contextRunner.withPropertyValues("management.health.pivot-pool.enabled=false")
            .run((context) -> assertThat(context).doesNotHaveBean(CoordinatorHealthIndicator.class));
    }

    @Test
    void runWithoutHealthModuleShouldNotCreateIndicator() {
        this.contextRunner.withClassLoader(new FilteredClassLoader(HealthIndicator.class))
            .run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(CoordinatorHealthIndicator.class));
    }

    @Test
    void noOpCoordinatorShouldBeUpWithBackendMembersAndLeader() {
        this.contextRunner.run((context) -> {
            Health health = context.getBean(CoordinatorHealthIndicator.class).health();
            assertThat(health.getStatus()).isEqualTo(Status.UP);
            assertThat(health.getDetails()).containsEntry("backend", "noop")
                .containsEntry("requestedBackend", "none")
                .containsEntry("members", 1)
                .containsKey("leaderId")
                .doesNotContainKey("fallback");
        });
    }

    @Test
    void fallbackShouldBeUpWithTheReasonAsDetail() {
        this.contextRunner.withPropertyValues("distributed.enabled=true", "distributed.coordination=redis")
            .run((context) -> {
                Health health = context.getBean(CoordinatorHealthIndicator.class).health();
                assertThat(health.getStatus()).isEqualTo(Status.UP);
                assertThat(health.getDetails()).containsEntry("requestedBackend", "redis")
                    .containsEntry("backend", "noop");
                assertThat((String) health.getDetails().get("fallback")).contains("no coordinator named 'redis'");
            });
    }

    @Test
    void backendThatStopsAnsweringShouldStayUpWithTheErrorSoThatOneOutageDoesNotDrainEveryInstance() {
        this.contextRunner.withUserConfiguration(SeverableCoordinator.class)
            .withPropertyValues("distributed.sync-interval=50ms", "distributed.leader-ttl=1s")
            .run((context) -> {
                CoordinatorHealthIndicator indicator = context.getBean(CoordinatorHealthIndicator.class);
                assertThat(indicator.health().getStatus()).isEqualTo(Status.UP);
                context.getBean(CustomCoordinator.class).sever();
                await().atMost(Duration.ofSeconds(5))
                    .untilAsserted(() -> assertThat(indicator.health().getDetails()).containsEntry("connected", false));
                assertThat(indicator.health().getStatus()).isEqualTo(Status.UP);
                assertThat((String) indicator.health().getDetails().get("error")).contains("unreachable");
            });
    }

    @Test
    void backendThatStopsAnsweringShouldBeDownWhenAskedTo() {
        this.contextRunner.withUserConfiguration(SeverableCoordinator.class)
            .withPropertyValues("distributed.sync-interval=50ms", "distributed.leader-ttl=1s",
                    "pivot.pool.health.down-when-disconnected=true")
            .run((context) -> {
                CoordinatorHealthIndicator indicator = context.getBean(CoordinatorHealthIndicator.class);
                // UP needs a synchronisation within instance-ttl (150 ms here): a slow start may outlast it.
                await().atMost(Duration.ofSeconds(5))
                    .untilAsserted(() -> assertThat(indicator.health().getStatus()).isEqualTo(Status.UP));
                assertThat(indicator.health().getDetails()).containsEntry("backend", "custom");
                context.getBean(CustomCoordinator.class).sever();
                await().atMost(Duration.ofSeconds(5))
                    .untilAsserted(() -> assertThat(indicator.health().getStatus()).isEqualTo(Status.DOWN));
                assertThat((String) indicator.health().getDetails().get("error")).contains("unreachable");
            });
    }

    @Configuration(proxyBeanMethods = false)
    static class SeverableCoordinator {

        @Bean
        CustomCoordinator customCoordinator() {
            return new CustomCoordinator("health", false);
        }
    }
}
