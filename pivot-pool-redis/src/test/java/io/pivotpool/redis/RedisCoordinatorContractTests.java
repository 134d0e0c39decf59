package io.pivotpool.redis;

import java.time.Duration;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.MultiInstanceCoordinatorContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The coordinator contract, single- and multi-instance, against a real redis-server. */
class RedisCoordinatorContractTests extends MultiInstanceCoordinatorContract {

    private static RedisServer server;

    @BeforeAll
    static void startServer() {
        server = RedisServer.start();
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @Override
    protected Coordinator createCoordinator(String namespace) {
        // Each coordinator has a connection of its own, as separate application instances do.
        return RedisCoordinator.create(RedisCoordinatorSettings.builder()
            .host(server.host())
            .port(server.port())
            .namespace(namespace)
            .timeout(Duration.ofSeconds(2))
            .build());
    }
}
