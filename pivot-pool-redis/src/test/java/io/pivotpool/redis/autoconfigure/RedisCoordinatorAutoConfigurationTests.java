package io.pivotpool.redis.autoconfigure;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;

import io.pivotpool.autoconfigure.PivotPoolAutoConfiguration;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.CoordinatorProvider;
import io.pivotpool.distributed.CoordinationStatus;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.autoconfigure.actuate.CoordinatorCredentialsSanitizingAutoConfiguration;
import io.pivotpool.testsupport.redis.RedisServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.actuate.autoconfigure.context.properties.ConfigurationPropertiesReportEndpointAutoConfiguration;
import org.springframework.boot.actuate.context.properties.ConfigurationPropertiesReportEndpoint;
import org.springframework.boot.actuate.endpoint.SanitizableData;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.annotation.ImportCandidates;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.dao.DataAccessException;
import org.springframework.data.redis.connection.RedisClusterConnection;
import org.springframework.data.redis.connection.RedisConnection;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.connection.RedisSentinelConnection;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

import static org.assertj.core.api.Assertions.assertThat;

/** Tests for {@link RedisCoordinatorAutoConfiguration}, against a real redis-server with a password. */
@ExtendWith(OutputCaptureExtension.class)
class RedisCoordinatorAutoConfigurationTests {

    private static final String PASSWORD = "pw-" + UUID.randomUUID();

    private static final String WRONG_PASSWORD = "wrong-" + UUID.randomUUID();

    @RegisterExtension
    static final RedisServer server = RedisServer.fixture(PASSWORD);

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(PivotPoolAutoConfiguration.class,
                RedisCoordinatorAutoConfiguration.class))
        .withPropertyValues("distributed.namespace=autoconfigure-" + UUID.randomUUID().toString().substring(0, 8));

    @Test
    void runByDefaultShouldContributeTheRedisProviderWithoutConnecting() {
        this.contextRunner.run((context) -> {
            assertThat(context).hasBean("redisCoordinatorProvider");
            assertThat(context.getBean("redisCoordinatorProvider", CoordinatorProvider.class).name()).isEqualTo("redis");
            assertThat(status(context).activeBackend()).isEqualTo("noop");
        });
    }

    @Test
    void runWhenPivotPoolIsDisabledShouldNotContributeTheProvider() {
        this.contextRunner.withPropertyValues("pivot.pool.enabled=false")
            .run((context) -> assertThat(context).doesNotHaveBean("redisCoordinatorProvider"));
    }

    @Test
    void runWithoutLettuceShouldNotContributeTheProviderAndSelectionShouldFallBack() {
        this.contextRunner.withClassLoader(new FilteredClassLoader(LettuceConnectionFactory.class))
            .withPropertyValues("distributed.enabled=true", "distributed.coordination=redis")
            .run((context) -> {
                assertThat(context).doesNotHaveBean("redisCoordinatorProvider");
                assertThat(status(context).activeBackend()).isEqualTo("noop");
                assertThat(status(context).fallbackReason()).contains("no coordinator named 'redis'");
            });
    }

    @Test
    void runWithRedisPropertiesShouldConnectOnItsOwnEvenWhenTheApplicationHasAFactory() {
        this.contextRunner.withUserConfiguration(ApplicationFactoryOnAClosedPort.class)
            .withPropertyValues("distributed.enabled=true", "distributed.coordination=redis",
                    "distributed.redis.host=127.0.0.1", "distributed.redis.port=" + server.port(),
                    "distributed.redis.password=" + PASSWORD)
            .run((context) -> {
                CoordinationStatus status = status(context);
                assertThat(status.activeBackend()).isEqualTo("redis");
                assertThat(status.connected()).isTrue();
                assertThat(status.memberCount()).isEqualTo(1);
                assertThat(context.getBean(Coordinator.class).toString()).contains("127.0.0.1:" + server.port());
            });
    }

    @Test
    void runWithoutRedisPropertiesShouldReuseBootsRedisConnectionFactory() {
        this.contextRunner
            .withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class))
            .withPropertyValues("distributed.enabled=true", "distributed.coordination=redis",
                    "spring.data.redis.host=127.0.0.1", "spring.data.redis.port=" + server.port(),
                    "spring.data.redis.password=" + PASSWORD, "spring.data.redis.timeout=1s")
            .run((context) -> {
                CoordinationStatus status = status(context);
                assertThat(status.activeBackend()).isEqualTo("redis");
                assertThat(status.connected()).isTrue();
                Coordinator coordinator = context.getBean(Coordinator.class);
                assertThat(coordinator.toString()).contains("127.0.0.1:" + server.port());
                // A blocking pop opens its own connection through the application's client, password included.
                coordinator.push("q", "m".getBytes(StandardCharsets.UTF_8));
                assertThat(coordinator.pop("q", Duration.ofMillis(100))).isPresent();
                assertThat(coordinator.pop("q", Duration.ofMillis(100))).isEmpty();
                // The coordinator is closed with the context; the application's factory keeps working until then.
                context.getBean(Coordinator.class).close();
                try (RedisConnection connection = context.getBean(RedisConnectionFactory.class).getConnection()) {
                    assertThat(connection.ping()).isEqualTo("PONG");
                }
            });
    }

    @Test
    void runWithNeitherPropertiesNorFactoryShouldUseLocalhost6379() {
        this.contextRunner.run((context) -> {
            CoordinatorProvider provider = context.getBean("redisCoordinatorProvider", CoordinatorProvider.class);
            try (Coordinator coordinator = provider.create("ns")) {
                assertThat(coordinator.toString()).contains("localhost:6379");
            }
        });
    }

    @Test
    void runWithANonLettuceApplicationFactoryShouldFallBackSayingToSetRedisProperties() {
        this.contextRunner.withUserConfiguration(NonLettuceFactory.class)
            .withPropertyValues("distributed.enabled=true", "distributed.coordination=redis")
            .run((context) -> {
                CoordinationStatus status = status(context);
                assertThat(status.activeBackend()).isEqualTo("noop");
                assertThat(status.fallbackReason()).contains("needs Lettuce").contains("distributed.redis.host");
            });
    }

    @Test
    void runWithAWrongPasswordShouldKeepRedisDisconnectedWithoutShowingIt(CapturedOutput output) {
        this.contextRunner
            .withPropertyValues("distributed.enabled=true", "distributed.coordination=redis",
                    "distributed.redis.host=127.0.0.1", "distributed.redis.port=" + server.port(),
                    "distributed.redis.password=" + WRONG_PASSWORD, "distributed.redis.timeout=1s")
            .run((context) -> {
                CoordinationStatus status = status(context);
                assertThat(status.activeBackend()).isEqualTo("redis");
                assertThat(status.connected()).isFalse();
                // The round's own attempt: Redis closes the connection after a refused login, so
                // Lettuce reports either the refusal or the closed connection.
                assertThat(status.lastError()).contains("Redis coordinator").contains("could not connect");
                assertThat(status.toString()).doesNotContain(WRONG_PASSWORD);
            });
        assertThat(output).contains("Coordination backend 'redis' could not connect")
            .contains("keeping it and trying again every sync-interval")
            .doesNotContain("falling back to the no-op coordinator").doesNotContain(WRONG_PASSWORD);
    }

    @Test
    void runWithFailFastAndNoRedisShouldFailStartup() {
        this.contextRunner
            .withPropertyValues("distributed.enabled=true", "distributed.coordination=redis", "distributed.fail-fast=true",
                    "distributed.redis.host=127.0.0.1", "distributed.redis.port=" + closedPort(),
                    "distributed.redis.timeout=500ms")
            .run((context) -> assertThat(context).getFailure()
                .rootCause()
                .isInstanceOf(CoordinatorException.class)
                .hasMessageContaining("Coordination backend 'redis' could not connect"));
    }

    @Test
    void autoConfigurationShouldBeListedAndOrderedAfterBootsRedisAndBeforePivotPoolAutoConfiguration() {
        assertThat(ImportCandidates.load(AutoConfiguration.class, getClass().getClassLoader()))
            .contains(RedisCoordinatorAutoConfiguration.class.getName());
        // afterName and beforeName are strings: prove they still name classes.
        AutoConfiguration order = RedisCoordinatorAutoConfiguration.class.getAnnotation(AutoConfiguration.class);
        assertThat(order.afterName()).containsExactly(DataRedisAutoConfiguration.class.getName());
        assertThat(order.beforeName()).containsExactly(PivotPoolAutoConfiguration.class.getName());
    }

    // ---- distributed.redis.* -------------------------------------------------------------------

    @Test
    void redisPortOutOfRangeShouldFailStartup() {
        this.contextRunner.withPropertyValues("distributed.redis.port=70000")
            .run((context) -> assertThat(invalidProperty(context.getStartupFailure()))
                .hasMessageContaining("Property distributed.redis.port ")
                .hasMessageContaining("port must be between 1 and 65535"));
    }

    @Test
    void negativeRedisDatabaseShouldFailStartup() {
        this.contextRunner.withPropertyValues("distributed.redis.database=-1")
            .run((context) -> assertThat(invalidProperty(context.getStartupFailure()))
                .hasMessageContaining("Property distributed.redis.database ")
                .hasMessageContaining("database must not be negative"));
    }

    @Test
    void nonPositiveRedisTimeoutShouldFailStartup() {
        this.contextRunner.withPropertyValues("distributed.redis.timeout=0s")
            .run((context) -> assertThat(invalidProperty(context.getStartupFailure()))
                .hasMessageContaining("Property distributed.redis.timeout ")
                .hasMessageContaining("timeout must be positive"));
    }

    @Test
    void redisPasswordShouldNeverAppearInToStringOrStartupFailures(CapturedOutput output) {
        this.contextRunner
            .withPropertyValues("distributed.redis.password=" + WRONG_PASSWORD, "distributed.redis.port=0",
                    "distributed.enabled=true", "distributed.coordination=redis")
            .run((context) -> {
                assertThat(context).hasFailed();
                for (Throwable cause = context.getStartupFailure(); cause != null; cause = cause.getCause()) {
                    assertThat(cause.getMessage()).doesNotContain(WRONG_PASSWORD);
                }
            });
        this.contextRunner.withPropertyValues("distributed.redis.password=" + WRONG_PASSWORD).run((context) -> {
            RedisCoordinatorProperties properties = context.getBean(RedisCoordinatorProperties.class);
            assertThat(properties.getPassword()).isEqualTo(WRONG_PASSWORD);
            assertThat(properties.toString()).doesNotContain(WRONG_PASSWORD).contains("password=******");
            assertThat(context.getBean("redisCoordinatorProvider").toString()).doesNotContain(WRONG_PASSWORD);
        });
        assertThat(output).doesNotContain(WRONG_PASSWORD);
    }

    @Test
    void runWithShowValuesAlwaysShouldMaskTheRedisPasswordInConfigprops() {
        this.contextRunner
            .withConfiguration(AutoConfigurations.of(CoordinatorCredentialsSanitizingAutoConfiguration.class,
                    ConfigurationPropertiesReportEndpointAutoConfiguration.class))
            .withPropertyValues("management.endpoints.web.exposure.include=configprops",
                    "management.endpoint.configprops.show-values=always", "distributed.redis.password=" + PASSWORD,
                    "distributed.redis.username=pivot")
            .run((context) -> {
                Map<String, Object> properties = context.getBean(ConfigurationPropertiesReportEndpoint.class)
                    .configurationPropertiesWithPrefix("distributed.redis")
                    .getContexts()
                    .values()
                    .iterator()
                    .next()
                    .getBeans()
                    .values()
                    .stream()
                    .filter(bean -> bean.getPrefix().equals("distributed.redis"))
                    .findFirst()
                    .orElseThrow()
                    .getProperties();
                assertThat(properties).as(properties.toString())
                    .containsEntry("password", SanitizableData.SANITIZED_VALUE)
                    .containsEntry("username", "pivot");
                assertThat(properties.toString()).doesNotContain(PASSWORD);
            });
    }

    static InvalidConfigurationPropertyValueException invalidProperty(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof InvalidConfigurationPropertyValueException invalid) {
                return invalid;
            }
        }
        throw new AssertionError("Start-up failed without naming an invalid property", failure);
    }

    private static CoordinationStatus status(org.springframework.context.ApplicationContext context) {
        return context.getBean(DistributedPoolManager.class).status();
    }

    static int closedPort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return socket.getLocalPort();
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class ApplicationFactoryOnAClosedPort {

        @Bean
        LettuceConnectionFactory redisConnectionFactory() {
            return new LettuceConnectionFactory(new RedisStandaloneConfiguration("127.0.0.1", closedPort()));
        }
    }

    /** An application factory of another driver, as a JedisConnectionFactory would be. */
    @Configuration(proxyBeanMethods = false)
    static class NonLettuceFactory {

        @Bean
        RedisConnectionFactory redisConnectionFactory() {
            return new RedisConnectionFactory() {

                @Override
                public RedisConnection getConnection() {
                    throw new UnsupportedOperationException("not a real driver");
                }

                @Override
                public RedisClusterConnection getClusterConnection() {
                    throw new UnsupportedOperationException("not a real driver");
                }

                @Override
                public boolean getConvertPipelineAndTxResults() {
                    return false;
                }

                @Override
                public RedisSentinelConnection getSentinelConnection() {
                    throw new UnsupportedOperationException("not a real driver");
                }

                @Override
                public DataAccessException translateExceptionIfPossible(RuntimeException ex) {
                    return null;
                }
            };
        }
    }
}
