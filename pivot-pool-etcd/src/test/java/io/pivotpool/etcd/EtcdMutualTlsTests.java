package io.pivotpool.etcd;

import java.time.Duration;
import java.util.UUID;

import io.etcd.jetcd.Client;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.testsupport.TestCertificates;
import io.pivotpool.testsupport.etcd.EtcdServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static io.pivotpool.etcd.EtcdTlsContractTests.connectFailure;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * An etcd started with {@code --client-cert-auth}, as production clusters commonly are: a client
 * certificate signed by the cluster's CA ({@link EtcdCoordinatorSettings#clientCertificate()},
 * PKCS#8 key) lets the coordinator do everything; none, or one of another CA, is refused at
 * {@code connect()}, within the timeout, saying that the member wants a client certificate.
 */
class EtcdMutualTlsTests {

    private static TestCertificates certificates;

    private static EtcdServer server;

    private static Client admin;

    @BeforeAll
    static void startMutualTlsServer() throws Exception {
        certificates = TestCertificates.create();
        server = EtcdServer.startWithMutualTls(certificates);
        admin = Client.builder()
            .endpoints(server.endpoints().toArray(String[]::new))
            .sslContext(ssl -> ssl.trustManager(certificates.caCertificate().toFile())
                .keyManager(certificates.clientCertificate().toFile(), certificates.clientKey().toFile()))
            .build();
    }

    @AfterAll
    static void stopMutualTlsServer() {
        if (admin != null) {
            admin.close();
        }
        if (server != null) {
            server.close();
        }
        if (certificates != null) {
            certificates.close();
        }
    }

    @Test
    void withTheClientCertificateEveryOperationShouldWork() {
        String namespace = "mtls:" + UUID.randomUUID().toString().substring(0, 8);
        RawEtcd.establish(admin, namespace);
        try (EtcdCoordinator coordinator = EtcdCoordinator.create(settings(namespace).build())) {
            coordinator.connect();
            assertThat(coordinator.isConnected()).isTrue();
            EveryOperation.run(coordinator);
        }
    }

    @Test
    void withoutAClientCertificateConnectShouldFailSayingTheMemberWantsOne() {
        try (EtcdCoordinator coordinator = EtcdCoordinator.create(settings("mtls-none")
            .clientCertificate(null)
            .clientKey(null)
            .build())) {
            CoordinatorException failure = connectFailure(coordinator);
            assertThat(failure.getMessage()).contains("etcd coordinator (" + server.endpoints().get(0))
                .contains("could not connect: TLS handshake failed, the member refused the client certificate");
        }
    }

    @Test
    void aClientCertificateOfAnotherCaShouldBeRefused() {
        try (EtcdCoordinator coordinator = EtcdCoordinator.create(settings("mtls-other-ca")
            .clientCertificate(certificates.otherClientCertificate())
            .clientKey(certificates.otherClientKey())
            .build())) {
            CoordinatorException failure = connectFailure(coordinator);
            assertThat(failure.getMessage())
                .contains("could not connect: TLS handshake failed, the member refused the client certificate");
        }
    }

    private static EtcdCoordinatorSettings.Builder settings(String namespace) {
        return EtcdCoordinatorSettings.builder()
            .endpoints(server.endpoints())
            .trustCertificates(certificates.caCertificate())
            .clientCertificate(certificates.clientCertificate())
            .clientKey(certificates.clientKey())
            .namespace(namespace)
            .timeout(Duration.ofSeconds(2));
    }
}
