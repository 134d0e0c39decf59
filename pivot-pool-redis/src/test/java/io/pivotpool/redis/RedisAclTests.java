package io.pivotpool.redis;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.testsupport.redis.RedisServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.junit.jupiter.api.extension.RegisterExtension;

import static io.pivotpool.redis.RedisCoordinatorTests.bytes;
import static io.pivotpool.redis.RedisCoordinatorTests.instance;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The README's ACL user is both enough ({@link RedisAclContractTests}) and not too much: take one
 * command away and the operations that need it fail loudly, with Redis's {@code NOPERM} in a
 * {@link CoordinatorException}; and the user reaches no key outside its namespace.
 */
class RedisAclTests {

    @RegisterExtension
    static final RedisServer server = RedisServer.fixture();

    private static RawRedis admin;

    @BeforeAll
    static void connectAdmin() {
        admin = new RawRedis(server);
    }

    @AfterAll
    static void closeAdmin() {
        admin.close();
    }

    @Test
    void readmeShouldGrantNoCategoryAndNoKeyPatternBeyondItsNamespace() {
        List<String> rules = AclUser.readmeRules();
        assertThat(rules).contains("-@all", "resetkeys", "resetchannels", "~{pivot:pools}:*")
            .noneMatch(rule -> rule.startsWith("+@") || rule.equals("allkeys") || rule.equals("allcommands")
                    || rule.equals("~*") || rule.startsWith("&"));
    }

    @ParameterizedTest
    @ValueSource(strings = { "+time", "+evalsha", "+eval", "+incr", "+lpush", "+rpop", "+brpop", "+set", "+get",
            "+del", "+hset", "+pexpire", "+zadd", "+zrangebyscore", "+strlen", "+hlen" })
    void aCommandMissingFromTheListShouldFailLoudly(String missing) {
        String namespace = "acl-missing:" + UUID.randomUUID().toString().substring(0, 8);
        admin.establish(namespace);
        if (missing.equals("+incr")) {
            // The script INCRements the counter only when it is ahead of the server's clock in µs (by less than a
            // day: further is implausible, and reset).
            admin.commands().set("{" + namespace + "}:term",
                    Long.toString((System.currentTimeMillis() + 3_600_000L) * 1000L));
        }
        if (missing.equals("+eval")) {
            // EVAL is what re-sends a script the server lost (a restart, a fail-over, SCRIPT FLUSH).
            admin.commands().scriptFlush();
        }
        AclUser user = new AclUser(admin, missing);
        user.allow(namespace);
        try (RedisCoordinator coordinator = coordinator(user, namespace)) {
            coordinator.connect();
            CoordinatorException failure = catchThrowableOfType(CoordinatorException.class,
                    () -> everyOperation(coordinator));
            assertThat(failure).as("some operation fails without " + missing).isNotNull();
            // Refused directly: "NOPERM this user has no permissions to run the 'lpush' command"; inside a
            // script: "ERR The user executing the script can't run this command or subcommand script: <sha>".
            assertThat(failure.getMessage()).as("the failure names the missing permission")
                .containsAnyOf("NOPERM", "can't run this command")
                .contains("Redis coordinator (127.0.0.1:" + server.port());
            System.out.println("Without " + missing + ": " + failure.getMessage());
        }
    }

    @Test
    void theUserShouldReachNoKeyOutsideItsNamespace() {
        String namespace = "acl-own:" + UUID.randomUUID().toString().substring(0, 8);
        String other = "acl-other:" + UUID.randomUUID().toString().substring(0, 8);
        admin.establish(namespace);
        AclUser user = new AclUser(admin);
        user.allow(namespace);
        try (RedisCoordinator own = coordinator(user, namespace); RedisCoordinator stranger = coordinator(user, other)) {
            own.connect();
            everyOperation(own);
            stranger.connect();
            CoordinatorException failure = catchThrowableOfType(CoordinatorException.class,
                    () -> stranger.set("k", bytes("v"), null));
            assertThat(failure).isNotNull();
            assertThat(failure.getMessage()).containsIgnoringCase("NOPERM");
            assertThat(admin.commands().exists("{" + other + "}:kv:k")).isZero();
        }
    }

    /** One call of every kind, as a running cluster makes them. */
    private static void everyOperation(RedisCoordinator coordinator) {
        coordinator.register(instance("a"), Duration.ofSeconds(5));
        coordinator.heartbeat(instance("a"), Duration.ofSeconds(5));
        assertThat(coordinator.liveInstances()).containsExactly(instance("a"));
        Optional<LeaderLease> lease = coordinator.tryAcquireLeadership("a", Duration.ofSeconds(5));
        assertThat(lease).isPresent();
        assertThat(coordinator.currentLeader()).isPresent();
        coordinator.push("q", bytes("m"));
        assertThat(coordinator.pop("q")).isPresent();
        coordinator.push("q", bytes("m"));
        assertThat(coordinator.pop("q", Duration.ofMillis(200))).isPresent();
        // The first wait may end while its connection is still being opened (on a loaded machine), before any
        // BRPOP; the second reuses that connection and sends one.
        assertThat(coordinator.pop("empty", Duration.ofMillis(50))).isEmpty();
        assertThat(coordinator.pop("empty", Duration.ofMillis(50))).isEmpty();
        coordinator.set("k", bytes("v"), Duration.ofSeconds(5));
        assertThat(coordinator.get("k")).isPresent();
        assertThat(coordinator.compareAndSet("k", bytes("v"), bytes("w"), null)).isTrue();
        assertThat(coordinator.delete("k")).isTrue();
        // A round reads its values bounded: STRLEN, then GET.
        coordinator.set("t", bytes("t"), Duration.ofSeconds(5));
        assertThat(coordinator.round(new io.pivotpool.coordinator.SyncRound(instance("a"), Duration.ofSeconds(5), null,
                false, java.util.Map.of(), null, List.of(), List.of("t", "missing"))).values()).containsOnlyKeys("t");
        coordinator.requestCapacity("pool", "a", 2, 10, Duration.ofSeconds(5));
        coordinator.capacity("pool");
        coordinator.releaseCapacity("pool", "a");
        assertThat(coordinator.releaseLeadership("a", lease.get().fencingToken())).isTrue();
        coordinator.unregister("a");
    }

    private static RedisCoordinator coordinator(AclUser user, String namespace) {
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
