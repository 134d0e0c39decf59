package io.pivotpool.etcd;

import java.time.Duration;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.testsupport.contract.MultiInstanceCoordinatorContract;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The coordinator contract over TLS: an etcd that serves clients on an {@code https://} URL only,
 * its certificate signed by a CA made for the test, and coordinators that trust that CA through
 * {@link EtcdCoordinatorSettings#trustCertificates()}. Then what must fail does, within the timeout
 * and saying why: another CA, no trust setting (the JVM's trust store does not know the CA), plain
 * text to the TLS port.
 */
class EtcdTlsContractTests extends MultiInstanceCoordinatorContract {

    private static final Duration TIMEOUT = Duration.ofSeconds(2);

    @RegisterExtension
    static final TlsEtcd etcd = TlsEtcd.serverCertificateOnly();

    /** A release leaves the pool's sum as it was until a reconcile, which a short request starts within a second. */
    @Override
    protected Duration releaseTolerance() {
        return Duration.ofSeconds(2);
    }

    @Override
    protected Coordinator createCoordinator(String namespace) {
        RawEtcd.establish(etcd.admin(), namespace);
        return EtcdCoordinator.create(settings(namespace).build());
    }

    private static EtcdCoordinatorSettings.Builder settings(String namespace) {
        return EtcdCoordinatorSettings.builder()
            .endpoints(etcd.server().endpoints())
            .trustCertificates(etcd.certificates().caCertificate())
            .namespace(namespace)
            .timeout(TIMEOUT);
    }

    @Test
    void theServerShouldServeClientsOverTlsOnly() {
        assertThat(etcd.server().endpoints()).allMatch(endpoint -> endpoint.startsWith("https://127.0.0.1:"));
    }

    @Test
    void trustingAnotherCaShouldFailConnectOnTheCertificateWithinTheTimeout() {
        try (EtcdCoordinator coordinator = EtcdCoordinator.create(settings("tls-other-ca")
            .trustCertificates(etcd.certificates().otherCaCertificate())
            .build())) {
            CoordinatorException failure = connectFailure(coordinator);
            assertThat(failure.getMessage()).contains("etcd coordinator (" + etcd.server().endpoints().get(0))
                .contains("could not connect: TLS handshake failed, the member's certificate is not trusted")
                .contains("unable to find valid certification path");
        }
    }

    @Test
    void withoutTrustCertificatesTheJvmTrustStoreShouldRefuseTheTestCa() {
        // Proves too that https:// alone means TLS: jetcd would otherwise speak plain text to the TLS port.
        try (EtcdCoordinator coordinator = EtcdCoordinator.create(settings("tls-jvm-trust")
            .trustCertificates(null)
            .build())) {
            CoordinatorException failure = connectFailure(coordinator);
            assertThat(failure.getMessage())
                .contains("could not connect: TLS handshake failed, the member's certificate is not trusted")
                .contains("unable to find valid certification path");
        }
    }

    @Test
    void plainTextToTheTlsPortShouldFailWithinTheTimeout() {
        String plain = etcd.server().endpoints().get(0).replace("https://", "http://");
        try (EtcdCoordinator coordinator = EtcdCoordinator.create(EtcdCoordinatorSettings.builder()
            .endpoints(plain)
            .namespace("tls-plain")
            .timeout(TIMEOUT)
            .build())) {
            CoordinatorException failure = connectFailure(coordinator);
            assertThat(failure.getMessage()).contains("etcd coordinator (" + plain).contains("could not connect");
        }
    }

    /** connect() fails, with a CoordinatorException, and no later than the timeout plus scheduling slack. */
    static CoordinatorException connectFailure(EtcdCoordinator coordinator) {
        long start = System.nanoTime();
        CoordinatorException failure = catchThrowableOfType(CoordinatorException.class, coordinator::connect);
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertThat(failure).as("connect() fails").isNotNull();
        assertThat(took).as("connect() gives up within the timeout").isLessThan(coordinator.timeout().plusSeconds(1));
        assertThat(coordinator.isConnected()).isFalse();
        System.out.println("Failed in " + took.toMillis() + " ms: " + failure.getMessage());
        return failure;
    }
}
