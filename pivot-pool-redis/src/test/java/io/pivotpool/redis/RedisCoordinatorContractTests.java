package io.pivotpool.redis;

import java.time.Duration;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.testsupport.contract.MultiInstanceCoordinatorContract;
import io.pivotpool.testsupport.redis.RedisServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The coordinator contract, single- and multi-instance, against a real redis-server. */
class RedisCoordinatorContractTests extends MultiInstanceCoordinatorContract {

    /** Entries expire to the millisecond here: half a second proves expiry as well as a second. */
    @Override
    protected Duration shortTtl() {
        return Duration.ofMillis(500);
    }

    @RegisterExtension
    static final RedisServer server = RedisServer.fixture();

    private static RawRedis raw;

    @BeforeAll
    static void connectRaw() {
        raw = new RawRedis(server);
    }

    @AfterAll
    static void closeRaw() {
        raw.close();
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
