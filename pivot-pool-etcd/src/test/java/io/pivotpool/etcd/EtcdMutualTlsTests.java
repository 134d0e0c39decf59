package io.pivotpool.etcd;

import java.time.Duration;
import java.util.UUID;

import io.pivotpool.coordinator.CoordinatorException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static io.pivotpool.etcd.EtcdTlsContractTests.connectFailure;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * An etcd started with {@code --client-cert-auth}, as production clusters commonly are: a client
 * certificate signed by the cluster's CA ({@link EtcdCoordinatorSettings#clientCertificate()},
 * PKCS#8 key) lets the coordinator do everything; none, or one of another CA, is refused at
 * {@code connect()}, within the timeout, saying that the member wants a client certificate.
 */
class EtcdMutualTlsTests {

    @RegisterExtension
    static final TlsEtcd etcd = TlsEtcd.mutual();

    @Test
    void withTheClientCertificateEveryOperationShouldWork() {
        String namespace = "mtls:" + UUID.randomUUID().toString().substring(0, 8);
        RawEtcd.establish(etcd.admin(), namespace);
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
            assertThat(failure.getMessage()).contains("etcd coordinator (" + etcd.server().endpoints().get(0))
                .contains("could not connect: TLS handshake failed, the member refused the client certificate");
        }
    }

    @Test
    void aClientCertificateOfAnotherCaShouldBeRefused() {
        try (EtcdCoordinator coordinator = EtcdCoordinator.create(settings("mtls-other-ca")
            .clientCertificate(etcd.certificates().otherClientCertificate())
            .clientKey(etcd.certificates().otherClientKey())
            .build())) {
            CoordinatorException failure = connectFailure(coordinator);
            assertThat(failure.getMessage())
                .contains("could not connect: TLS handshake failed, the member refused the client certificate");
        }
    }

    private static EtcdCoordinatorSettings.Builder settings(String namespace) {
        return EtcdCoordinatorSettings.builder()
            .endpoints(etcd.server().endpoints())
            .trustCertificates(etcd.certificates().caCertificate())
            .clientCertificate(etcd.certificates().clientCertificate())
            .clientKey(etcd.certificates().clientKey())
            .namespace(namespace)
            .timeout(Duration.ofSeconds(2));
    }
}
