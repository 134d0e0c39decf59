package io.pivotpool.redis;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SslOptions;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.testsupport.contract.MultiInstanceCoordinatorContract;
import io.pivotpool.testsupport.ServerProcesses;
import io.pivotpool.testsupport.redis.RedisNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The coordinator contract over TLS: a {@code redis-server} with only a {@code tls-port} (no plain
 * port), its certificate signed by a CA made for the test, and coordinators that trust that CA
 * through {@link RedisCoordinatorSettings#sslTrustedCertificates()}. Then what must fail does: no
 * trust setting (the JVM's trust store does not know the CA), another CA, plain text on the TLS port.
 */
class RedisTlsContractTests extends MultiInstanceCoordinatorContract {

    /** Entries expire to the millisecond here: half a second proves expiry as well as a second. */
    @Override
    protected Duration shortTtl() {
        return Duration.ofMillis(500);
    }

    private static Path directory;

    private static TestCertificates certificates;

    private static RedisNode server;

    private static RedisClient admin;

    private static StatefulRedisConnection<String, String> adminConnection;

    @BeforeAll
    static void startTlsServer() throws Exception {
        directory = Files.createTempDirectory("pivot-pool-tls-");
        certificates = TestCertificates.create(directory);
        server = startTlsNode();
        admin = RedisClient.create(RedisURI.builder().withHost(server.host()).withPort(server.port()).withSsl(true)
            .withTimeout(Duration.ofSeconds(2)).build());
        admin.setOptions(ClientOptions.builder()
            .sslOptions(SslOptions.builder().jdkSslProvider().trustManager(certificates.caCertificate().toFile()).build())
            .build());
        adminConnection = admin.connect();
    }

    /** Debian's redis-server has TLS; a bundled one may have been built without it. */
    private static RedisNode startTlsNode() {
        try {
            return RedisNode.start("TLS redis-server", """
                    port 0
                    tls-port ${port}
                    tls-cert-file %s
                    tls-key-file %s
                    tls-ca-cert-file %s
                    tls-auth-clients no
                    """.formatted(certificates.serverCertificate(), certificates.serverKey(),
                    certificates.caCertificate()));
        }
        catch (RuntimeException ex) {
            String why = String.valueOf(ex.getMessage());
            if (why.contains("TLS") || why.contains("tls")) {
                throw ServerProcesses.unavailable("the redis-server " + RedisNode.binary() + " could not serve TLS ("
                        + why + "): install Debian's redis-server, built with TLS");
            }
            throw ex;
        }
    }

    @AfterAll
    static void stopTlsServer() throws Exception {
        if (adminConnection != null) {
            adminConnection.close();
            admin.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
        if (server != null) {
            server.close();
        }
        try (var paths = Files.walk(directory)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
    }

    @Override
    protected Coordinator createCoordinator(String namespace) {
        RawRedis.establish(adminConnection.sync(), namespace);
        return RedisCoordinator.create(settings(namespace).build());
    }

    private static RedisCoordinatorSettings.Builder settings(String namespace) {
        return RedisCoordinatorSettings.builder()
            .host(server.host())
            .port(server.port())
            .ssl(true)
            .sslTrustedCertificates(certificates.caCertificate())
            .namespace(namespace)
            .timeout(Duration.ofSeconds(2));
    }

    @Test
    void withoutTrustingTheCaConnectShouldFailOnTheCertificate() {
        try (RedisCoordinator coordinator = RedisCoordinator.create(settings("tls-untrusted")
            .sslTrustedCertificates(null)
            .build())) {
            CoordinatorException failure = catchThrowableOfType(CoordinatorException.class, coordinator::connect);
            assertThat(failure).isNotNull();
            assertThat(failure.getMessage()).contains("could not connect");
            assertThat(causes(failure)).contains("PKIX");
            assertThat(coordinator.isConnected()).isFalse();
        }
    }

    @Test
    void trustingAnotherCaShouldFailOnTheCertificate() {
        try (RedisCoordinator coordinator = RedisCoordinator.create(settings("tls-other-ca")
            .sslTrustedCertificates(certificates.otherCaCertificate())
            .build())) {
            CoordinatorException failure = catchThrowableOfType(CoordinatorException.class, coordinator::connect);
            assertThat(failure).isNotNull();
            assertThat(causes(failure)).containsAnyOf("PKIX", "certificate");
        }
    }

    @Test
    void plainTextOnTheTlsPortShouldFail() {
        try (RedisCoordinator coordinator = RedisCoordinator.create(RedisCoordinatorSettings.builder()
            .host(server.host())
            .port(server.port())
            .namespace("tls-plain")
            .timeout(Duration.ofSeconds(1))
            .build())) {
            assertThat(catchThrowableOfType(CoordinatorException.class, coordinator::connect)).isNotNull();
        }
    }

    @Test
    void trustedCertificatesWithoutSslShouldBeRejectedNamingTheSetting() {
        assertThat(catchThrowableOfType(IllegalArgumentException.class,
                () -> settings("x").ssl(false).build()))
            .hasMessageContaining("sslTrustedCertificates")
            .hasMessageContaining("needs ssl");
    }

    private static String causes(Throwable failure) {
        StringBuilder text = new StringBuilder();
        for (Throwable current = failure; current != null; current = current.getCause()) {
            text.append(current).append('\n');
            if (current.getCause() == current) {
                break;
            }
        }
        return text.toString();
    }
}
