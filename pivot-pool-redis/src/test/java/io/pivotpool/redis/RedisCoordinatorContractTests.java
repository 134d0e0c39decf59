package io.pivotpool.redis;

import java.time.Duration;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.MultiInstanceCoordinatorContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The coordinator contract, single- and multi-instance, against a real redis-server. */
class RedisCoordinatorContractTests extends MultiInstanceCoordinatorContract {

    private static RedisServer server;

    private static RawRedis raw;

    @BeforeAll
    static void startServer() {
        server = RedisServer.start();
        raw = new RawRedis(server);
    }

    @AfterAll
    static void stopServer() {
        raw.close();
        server.close();
    }

    @Override
    protected Coordinator createCoordinator(String namespace) {
        raw.establish(namespace);
        // Each coordinator has a connection of its own, as separate application instances do.
        return RedisCoordinator.create(RedisCoordinatorSettings.builder()
            .host(server.host())
            .port(server.port())
            .namespace(namespace)
            .timeout(Duration.ofSeconds(2))
            .build());
    }
}
