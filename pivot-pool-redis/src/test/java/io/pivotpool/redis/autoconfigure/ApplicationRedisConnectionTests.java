package io.pivotpool.redis.autoconfigure;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;

import io.pivotpool.autoconfigure.PivotPoolAutoConfiguration;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorProvider;
import io.pivotpool.distributed.CoordinationStatus;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.testsupport.redis.RedisServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.data.redis.connection.RedisConnectionFactory;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * With this module alone and no {@code distributed.redis.*} key, the coordinator connects where
 * the application's Redis is ({@code spring.data.redis.*}, Boot's {@code DataRedisConnectionDetails}),
 * against a real redis-server with a password, and the log says exactly which connection it uses.
 */
@ExtendWith(OutputCaptureExtension.class)
class ApplicationRedisConnectionTests {

    private static final String PASSWORD = "pw-" + UUID.randomUUID();

    @RegisterExtension
    static final RedisServer server = RedisServer.fixture(PASSWORD);

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(PivotPoolAutoConfiguration.class,
                RedisCoordinatorAutoConfiguration.class))
        .withPropertyValues("distributed.enabled=true", "distributed.coordination=redis",
                "distributed.namespace=app-redis-" + UUID.randomUUID().toString().substring(0, 8));

    @Test
    void springDataRedisPropertiesAloneWithoutBootsRedisModule(CapturedOutput output) {
        // As in an application with this module and no spring-boot-data-redis: no factory, no details.
        this.contextRunner.withClassLoader(new FilteredClassLoader(DataRedisConnectionDetails.class))
            .withPropertyValues("spring.data.redis.host=127.0.0.1", "spring.data.redis.port=" + server.port(),
                    "spring.data.redis.password=" + PASSWORD)
            .run((context) -> {
                assertWorksOnTheServer(context);
                assertThat(output).contains("Redis coordinator connects to 127.0.0.1:" + server.port()
                        + " (database 0) with a connection of its own, from spring.data.redis.*");
                assertThat(output).doesNotContain("(distributed.redis.*)", "from distributed.redis.*", PASSWORD);
            });
    }

    @Test
    void springDataRedisUrlAlone(CapturedOutput output) {
        this.contextRunner.withClassLoader(new FilteredClassLoader(DataRedisConnectionDetails.class))
            .withPropertyValues("spring.data.redis.url=redis://:" + PASSWORD + "@127.0.0.1:" + server.port() + "/2")
            .run((context) -> {
                assertWorksOnTheServer(context);
                assertThat(output).contains("Redis coordinator connects to 127.0.0.1:" + server.port()
                        + " (database 2) with a connection of its own, from spring.data.redis.*");
            });
    }

    @Test
    void springDataRedisPropertiesWithBootsModuleButNoFactory(CapturedOutput output) {
        // spring-boot-data-redis present, its auto-configuration not run: read the properties here.
        this.contextRunner
            .withPropertyValues("spring.data.redis.host=127.0.0.1", "spring.data.redis.port=" + server.port(),
                    "spring.data.redis.password=" + PASSWORD)
            .run((context) -> {
                assertWorksOnTheServer(context);
                assertThat(output).contains("with a connection of its own, from spring.data.redis.*");
            });
    }

    @Test
    void connectionDetailsBeanWithoutAFactory(CapturedOutput output) {
        this.contextRunner.withUserConfiguration(ServiceConnectionDetails.class)
            // The details win over the properties, as with Boot's own factory.
            .withPropertyValues("spring.data.redis.port=" + RedisCoordinatorAutoConfigurationTests.closedPort())
            .run((context) -> {
                assertWorksOnTheServer(context);
                assertThat(output).contains("Redis coordinator connects to 127.0.0.1:" + server.port()
                        + " (database 0) with a connection of its own, from the application's "
                        + "DataRedisConnectionDetails (" + ServiceConnectionDetails.Details.class.getName() + ")");
            });
    }

    @Test
    void connectionDetailsBeanThroughBootsFactory(CapturedOutput output) {
        // What a Testcontainers @ServiceConnection does: Boot builds its factory from the details, which is reused.
        this.contextRunner.withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class))
            .withUserConfiguration(ServiceConnectionDetails.class)
            .withPropertyValues("spring.data.redis.port=" + RedisCoordinatorAutoConfigurationTests.closedPort())
            .run((context) -> {
                assertWorksOnTheServer(context);
                assertThat(context).hasSingleBean(RedisConnectionFactory.class);
                assertThat(output).contains("Redis coordinator reuses the application's RedisConnectionFactory "
                        + "(127.0.0.1:" + server.port() + ")");
                assertThat(output).doesNotContain("with a connection of its own");
            });
    }

    @Test
    void nothingSetSaysItUsesTheDefaults(CapturedOutput output) {
        this.contextRunner.withClassLoader(new FilteredClassLoader(DataRedisConnectionDetails.class)).run((context) -> {
            CoordinatorProvider provider = context.getBean("redisCoordinatorProvider", CoordinatorProvider.class);
            try (Coordinator coordinator = provider.create("ns")) {
                assertThat(coordinator.toString()).contains("localhost:6379");
            }
            assertThat(output).contains("Redis coordinator connects to localhost:6379 (database 0) with a connection "
                    + "of its own, from the defaults: neither distributed.redis.* nor spring.data.redis.* is set, "
                    + "and the application has no RedisConnectionFactory");
        });
    }

    @Test
    void sentinelPropertiesWithoutAFactoryFailTheSelectionSayingWhy(CapturedOutput output) {
        this.contextRunner.withClassLoader(new FilteredClassLoader(DataRedisConnectionDetails.class))
            .withPropertyValues("spring.data.redis.sentinel.master=mymaster",
                    "spring.data.redis.sentinel.nodes=127.0.0.1:26379")
            .run((context) -> {
                CoordinationStatus status = context.getBean(DistributedPoolManager.class).status();
                assertThat(status.activeBackend()).isEqualTo("noop");
                assertThat(status.fallbackReason()).contains("spring.data.redis.sentinel",
                        "reaches a standalone server only");
            });
    }

    private static void assertWorksOnTheServer(ApplicationContext context) {
        CoordinationStatus status = context.getBean(DistributedPoolManager.class).status();
        assertThat(status.activeBackend()).isEqualTo("redis");
        assertThat(status.connected()).as("connected: %s", status).isTrue();
        Coordinator coordinator = context.getBean(Coordinator.class);
        assertThat(coordinator.toString()).contains("127.0.0.1:" + server.port());
        coordinator.push("q", "m".getBytes(StandardCharsets.UTF_8));
        assertThat(coordinator.pop("q", Duration.ofMillis(100))).isPresent();
    }

    @Configuration(proxyBeanMethods = false)
    static class ServiceConnectionDetails {

        @Bean
        Details redisConnectionDetails() {
            return new Details();
        }

        static final class Details implements DataRedisConnectionDetails {

            @Override
            public String getPassword() {
                return PASSWORD;
            }

            @Override
            public Standalone getStandalone() {
                return Standalone.of("127.0.0.1", server.port());
            }
        }
    }
}
