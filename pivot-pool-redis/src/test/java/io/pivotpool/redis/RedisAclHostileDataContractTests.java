package io.pivotpool.redis;

import java.time.Duration;

import io.pivotpool.coordinator.Coordinator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The hostile-data contract with the coordinators logged in as the README's ACL user: dropping and
 * fencing garbage ({@code UNLINK}, {@code MEMORY USAGE}, {@code TYPE}, ...) needs nothing beyond the
 * README's list either. The plants are written by the default user, as a hostile tenant would.
 */
class RedisAclHostileDataContractTests extends RedisHostileDataContractTests {

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
