package io.pivotpool.autoconfigure.redis;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;

import io.pivotpool.autoconfigure.PivotPoolAutoConfiguration;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.CoordinatorProvider;
import io.pivotpool.distributed.CoordinationStatus;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.redis.RedisCoordinator;
import io.pivotpool.testsupport.redis.RedisServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.annotation.ImportCandidates;
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
import org.springframework.util.ClassUtils;

import static org.assertj.core.api.Assertions.assertThat;

/** Tests for {@link RedisCoordinatorAutoConfiguration}, against a real redis-server with a password. */
@ExtendWith(OutputCaptureExtension.class)
class RedisCoordinatorAutoConfigurationTests {

    private static final String PASSWORD = "pw-" + UUID.randomUUID();

    private static final String WRONG_PASSWORD = "wrong-" + UUID.randomUUID();

    private static RedisServer server;

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(PivotPoolAutoConfiguration.class,
                RedisCoordinatorAutoConfiguration.class))
        .withPropertyValues("distributed.namespace=autoconfigure-" + UUID.randomUUID().toString().substring(0, 8));

    @BeforeAll
    static void startServer() {
        server = RedisServer.start(PASSWORD);
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

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
    void runWithoutTheRedisModuleShouldNotContributeTheProviderAndSelectionShouldFallBack(CapturedOutput output) {
        this.contextRunner.withClassLoader(new FilteredClassLoader(RedisCoordinator.class))
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
                assertThat(status.members()).hasSize(1);
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
    void runWithAWrongPasswordShouldFallBackWithoutShowingIt(CapturedOutput output) {
        this.contextRunner
            .withPropertyValues("distributed.enabled=true", "distributed.coordination=redis",
                    "distributed.redis.host=127.0.0.1", "distributed.redis.port=" + server.port(),
                    "distributed.redis.password=" + WRONG_PASSWORD, "distributed.redis.timeout=1s")
            .run((context) -> {
                CoordinationStatus status = status(context);
                assertThat(status.activeBackend()).isEqualTo("noop");
                assertThat(status.fallbackReason()).contains("WRONGPASS");
                assertThat(status.toString()).doesNotContain(WRONG_PASSWORD);
            });
        assertThat(output).contains("falling back to the no-op coordinator").doesNotContain(WRONG_PASSWORD);
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
    void autoConfigurationShouldBeListedAndOrderedAfterBootsRedisAutoConfiguration() {
        assertThat(ImportCandidates.load(AutoConfiguration.class, getClass().getClassLoader()))
            .contains(RedisCoordinatorAutoConfiguration.class.getName());
        // afterName is a string: prove it still names a class.
        assertThat(ClassUtils.isPresent(RedisCoordinatorAutoConfiguration.DATA_REDIS_AUTO_CONFIGURATION, null)).isTrue();
        assertThat(RedisCoordinatorAutoConfiguration.class.getAnnotation(AutoConfiguration.class).afterName())
            .containsExactly(RedisCoordinatorAutoConfiguration.DATA_REDIS_AUTO_CONFIGURATION);
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
