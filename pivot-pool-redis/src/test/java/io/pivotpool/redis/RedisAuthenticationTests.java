package io.pivotpool.redis;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.distributed.DistributedSettings;
import io.pivotpool.distributed.internal.ActiveCoordinator;
import io.pivotpool.distributed.internal.CoordinatorSelection;
import io.pivotpool.testsupport.LogCapture;
import io.pivotpool.testsupport.redis.RedisServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static io.pivotpool.redis.RedisCoordinatorTests.bytes;
import static io.pivotpool.redis.RedisCoordinatorTests.instance;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** A server with {@code requirepass}: the right password works everywhere, a wrong one is never shown. */
class RedisAuthenticationTests {

    private static final String PASSWORD = "right-" + UUID.randomUUID();

    private static final String WRONG_PASSWORD = "wrong-" + UUID.randomUUID();

    @RegisterExtension
    static final RedisServer server = RedisServer.fixture(PASSWORD);

    @Test
    void rightPasswordShouldOpenEveryConnectionIncludingBlockingPops() {
        try (RedisCoordinator coordinator = coordinator(PASSWORD)) {
            coordinator.connect();
            coordinator.register(instance("a"), Duration.ofSeconds(5));
            assertThat(coordinator.liveInstances()).containsExactly(instance("a"));
            assertThat(coordinator.pop("q", Duration.ofMillis(100))).isEmpty();
            coordinator.push("q", bytes("m"));
            assertThat(coordinator.pop("q", Duration.ofMillis(100))).isPresent();
            assertThat(coordinator.toString()).doesNotContain(PASSWORD);
        }
    }

    @Test
    void wrongPasswordShouldFailConnectNamingRedisButNeverThePasswords() {
        try (LogCapture logs = LogCapture.everything().withDebug("io.lettuce");
                RedisCoordinator coordinator = coordinator(WRONG_PASSWORD)) {
            CoordinatorException failure = catchThrowableOfType(CoordinatorException.class, coordinator::connect);
            assertThat(failure).isNotNull();
            assertThat(failure.getMessage()).contains("Redis coordinator (127.0.0.1:" + server.port())
                .contains("could not connect");
            assertThat(coordinator.isConnected()).isFalse();
            assertThat(logs.all()).as("Lettuce's debug output was recorded").contains("io.lettuce");
            String everything = stackTrace(failure) + "\n" + coordinator + "\n" + logs.all();
            assertThat(everything).doesNotContain(WRONG_PASSWORD).doesNotContain(PASSWORD);
            System.out.println("Wrong password: " + failure.getMessage());
        }
    }

    @Test
    void missingPasswordShouldFailConnect() {
        try (RedisCoordinator coordinator = coordinator(null)) {
            CoordinatorException failure = catchThrowableOfType(CoordinatorException.class, coordinator::connect);
            assertThat(failure).isNotNull();
            assertThat(stackTrace(failure)).containsAnyOf("NOAUTH", "Authentication required")
                .doesNotContain(PASSWORD);
        }
    }

    @Test
    void selectionWithAWrongPasswordShouldKeepRedisWithOneWarningThatHidesThePassword() {
        DistributedSettings settings = DistributedSettings.builder().enabled(true).coordination("redis").build();
        RedisCoordinatorProvider provider = RedisCoordinatorProvider.of(settings(WRONG_PASSWORD));
        try (LogCapture logs = LogCapture.everything();
                ActiveCoordinator active = CoordinatorSelection.select(settings, List.of(provider))) {
            assertThat(active.fellBack()).isFalse();
            assertThat(active.activeBackend()).isEqualTo("redis");
            assertThat(active.coordinator().isConnected()).isFalse();
            assertThat(logs.messages(ch.qos.logback.classic.Level.WARN)).singleElement().asString()
                .contains("Redis coordinator").contains("could not connect");
            assertThat(logs.all() + provider).doesNotContain(WRONG_PASSWORD);
        }
    }

    private static RedisCoordinator coordinator(String password) {
        return RedisCoordinator.create(settings(password));
    }

    private static RedisCoordinatorSettings settings(String password) {
        return RedisCoordinatorSettings.builder()
            .host(server.host())
            .port(server.port())
            .password(password)
            .timeout(Duration.ofSeconds(1))
            .namespace("auth")
            .build();
    }

    private static String stackTrace(Throwable failure) {
        StringWriter text = new StringWriter();
        failure.printStackTrace(new PrintWriter(text));
        return text.toString();
    }
}
