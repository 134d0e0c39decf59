package io.pivotpool.redis;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.MultiInstanceCoordinatorContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * The coordinator contract for coordinators built on an application's connection factory: every
 * coordinator borrows the same factory, which outlives them all.
 */
class RedisCoordinatorOnSharedFactoryContractTests extends MultiInstanceCoordinatorContract {

    private static RedisServer server;

    private static LettuceConnectionFactory applicationFactory;

    private static RawRedis raw;

    @BeforeAll
    static void startServer() {
        server = RedisServer.start();
        applicationFactory = new LettuceConnectionFactory(new RedisStandaloneConfiguration(server.host(), server.port()));
        applicationFactory.afterPropertiesSet();
        raw = new RawRedis(server);
    }

    @AfterAll
    static void stopServer() {
        raw.close();
        applicationFactory.destroy();
        server.close();
    }

    @Override
    protected Coordinator createCoordinator(String namespace) {
        raw.establish(namespace);
        return RedisCoordinator.create(applicationFactory, namespace);
    }
}
