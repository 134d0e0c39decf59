package io.pivotpool.redis;

import java.time.Duration;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.testsupport.contract.MultiInstanceCoordinatorContract;
import io.pivotpool.testsupport.redis.RedisServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The coordinator contract, every coordinator logged in as the README's ACL user: only the commands
 * the README lists, only the keys of the namespaces the test uses.
 */
class RedisAclContractTests extends MultiInstanceCoordinatorContract {

    /** Entries expire to the millisecond here: half a second proves expiry as well as a second. */
    @Override
    protected Duration shortTtl() {
        return Duration.ofMillis(500);
    }

    @RegisterExtension
    static final RedisServer server = RedisServer.fixture();

    private static RawRedis admin;

    private static AclUser user;

    @BeforeAll
    static void createUser() {
        admin = new RawRedis(server);
        user = new AclUser(admin);
    }

    @AfterAll
    static void closeAdmin() {
        admin.close();
    }

    @Override
    protected Coordinator createCoordinator(String namespace) {
        admin.establish(namespace);
        user.allow(namespace);
        return RedisCoordinator.create(RedisCoordinatorSettings.builder()
            .host(server.host())
            .port(server.port())
            .username(AclUser.NAME)
            .password(user.password)
            .namespace(namespace)
            .timeout(Duration.ofSeconds(2))
            .build());
    }
}
