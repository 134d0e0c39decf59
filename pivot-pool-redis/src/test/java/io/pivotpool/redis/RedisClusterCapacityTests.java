package io.pivotpool.redis;

import java.time.Duration;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.testsupport.contract.ClusterCapacityContract;
import io.pivotpool.testsupport.redis.RedisServer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The cluster-wide cap on a real redis-server: several managers, each with a connection of its
 * own, share a pool's cap through the Lua grant script, the leader's targets and the demand
 * reports, with every object of the cluster counted at every creation.
 */
@Tag("slow")
class RedisClusterCapacityTests extends ClusterCapacityContract {

    @RegisterExtension
    static final RedisServer server = RedisServer.fixture();

    @Override
    protected Coordinator client(String namespace) {
        RedisCoordinator coordinator = RedisCoordinator.create(RedisCoordinatorSettings.builder()
            .host(server.host())
            .port(server.port())
            .namespace(namespace)
            // The first connection of a fresh JVM loads Lettuce and Netty: more than 500 ms on a busy machine.
            .timeout(Duration.ofSeconds(2))
            .build());
        coordinator.connect();
        return coordinator;
    }
}
