package io.pivotpool.redis;

import java.time.Duration;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.testsupport.contract.MultiInstanceCoordinatorContract;
import io.pivotpool.testsupport.redis.RedisServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * The coordinator contract for coordinators built on an application's connection factory: every
 * coordinator borrows the same factory, which outlives them all.
 */
class RedisCoordinatorOnSharedFactoryContractTests extends MultiInstanceCoordinatorContract {

    /** Entries expire to the millisecond here: half a second proves expiry as well as a second. */
    @Override
    protected Duration shortTtl() {
        return Duration.ofMillis(500);
    }

    @RegisterExtension
    static final RedisServer server = RedisServer.fixture();

    private static LettuceConnectionFactory applicationFactory;

    private static RawRedis raw;

    @BeforeAll
    static void connectClients() {
        applicationFactory = new LettuceConnectionFactory(new RedisStandaloneConfiguration(server.host(), server.port()));
        applicationFactory.afterPropertiesSet();
        raw = new RawRedis(server);
    }

    @AfterAll
    static void closeClients() {
        raw.close();
        applicationFactory.destroy();
    }

    @Override
    protected Coordinator createCoordinator(String namespace) {
        raw.establish(namespace);
        return RedisCoordinator.create(applicationFactory, namespace);
    }
}
