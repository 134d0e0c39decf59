package io.pivotpool.etcd;

import java.nio.file.Files;
import java.nio.file.Path;

import io.etcd.jetcd.Client;
import io.pivotpool.testsupport.TestCertificates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * The rules {@link EtcdCoordinatorSettings.Builder#build()} checks before anything connects: TLS
 * files only with {@code https://} endpoints, client certificate and key together, files that exist
 * and hold PEM of the kind jetcd reads. Each failure begins with the setting's property name
 * (which the Boot properties prefix with {@code distributed.etcd.}) and never shows a key's content.
 */
class EtcdCoordinatorSettingsTests {

    private static final String HTTPS = "https://127.0.0.1:2379";

    private static TestCertificates certificates;

    @TempDir
    Path directory;

    @BeforeAll
    static void makeCertificates() {
        certificates = TestCertificates.create();
    }

    @AfterAll
    static void deleteCertificates() {
        if (certificates != null) {
            certificates.close();
        }
    }

    @Test
    void completeMutualTlsSettingsShouldBuildAndNameTheFilesButNoSecret() {
        EtcdCoordinatorSettings settings = mutualTls().username("pivot").password("s3cret").build();
        assertThat(settings.tls()).isTrue();
        assertThat(settings.clientCertificate()).isEqualTo(certificates.clientCertificate());
        assertThat(settings.clientKey()).isEqualTo(certificates.clientKey());
        assertThat(settings.toString()).contains("clientCertificate=" + certificates.clientCertificate())
            .contains("clientKey=" + certificates.clientKey())
            .doesNotContain("s3cret");
        assertThat(settings.toBuilder().build().toString()).isEqualTo(settings.toString());
    }

    @Test
    void httpsEndpointsWithoutAnyTlsFileShouldBuild() {
        // The JVM's default trust store then checks the members' certificates.
        assertThat(EtcdCoordinatorSettings.builder().endpoints(HTTPS).build().tls()).isTrue();
    }

    @Test
    void clientCertificateWithoutKeyShouldFailNamingBoth() {
        assertThatIllegalArgumentException()
            .isThrownBy(() -> mutualTls().clientKey(null).build())
            .withMessageStartingWith("client-certificate (" + certificates.clientCertificate() + ") is set without client-key");
    }

    @Test
    void clientKeyWithoutCertificateShouldFailNamingBoth() {
        assertThatIllegalArgumentException()
            .isThrownBy(() -> mutualTls().clientCertificate(null).build())
            .withMessageStartingWith("client-key (" + certificates.clientKey() + ") is set without client-certificate");
    }

    @Test
    void tlsFilesWithHttpEndpointsShouldFailRatherThanSpeakPlainText() {
        assertThatIllegalArgumentException()
            .isThrownBy(() -> mutualTls().endpoints("http://127.0.0.1:2379").build())
            .withMessageStartingWith("trust-certificates (" + certificates.caCertificate() + ") is set, but the endpoints")
            .withMessageContaining("are http://, plain text");
        assertThatIllegalArgumentException()
            .isThrownBy(() -> mutualTls().endpoints("http://127.0.0.1:2379").trustCertificates(null).build())
            .withMessageStartingWith("client-certificate (");
    }

    @Test
    void endpointsMixingHttpAndHttpsShouldFail() {
        assertThatIllegalArgumentException()
            .isThrownBy(() -> EtcdCoordinatorSettings.builder().endpoints(HTTPS, "http://127.0.0.2:2379"))
            .withMessageContaining("endpoints must be all http:// or all https://");
    }

    @Test
    void missingFileShouldFailNamingTheSettingAndThePath() {
        Path missing = this.directory.resolve("nowhere.crt");
        assertThatIllegalArgumentException()
            .isThrownBy(() -> mutualTls().trustCertificates(missing).build())
            .withMessage("trust-certificates must be a readable PEM file, was " + missing + " (no such file)");
        assertThatIllegalArgumentException()
            .isThrownBy(() -> mutualTls().clientKey(this.directory).build())
            .withMessage("client-key must be a readable PEM file, was " + this.directory + " (not a file)");
    }

    @Test
    void keyGivenAsCertificateAndCertificateAsKeyShouldFailOnTheirPemLabels() {
        assertThatIllegalArgumentException()
            .isThrownBy(() -> mutualTls().clientCertificate(certificates.clientKey()).build())
            .withMessageStartingWith("client-certificate (" + certificates.clientKey() + ") must be a PEM file of X.509 certificates");
        assertThatIllegalArgumentException()
            .isThrownBy(() -> mutualTls().clientKey(certificates.clientCertificate()).build())
            .withMessageStartingWith("client-key (" + certificates.clientCertificate() + ") must be a PEM file of a private key");
    }

    @Test
    void pkcs1KeyShouldFailSayingHowToConvertItAndShowingNoKeyMaterial() throws Exception {
        String pem = Files.readString(certificates.clientKeyPkcs1());
        assertThat(pem).startsWith("-----BEGIN RSA PRIVATE KEY-----");
        Throwable failure = catchThrowable(() -> mutualTls().clientKey(certificates.clientKeyPkcs1()).build());
        assertThat(failure).isInstanceOf(IllegalArgumentException.class)
            .hasMessageStartingWith("client-key (" + certificates.clientKeyPkcs1() + ") is a PKCS#1 or SEC 1 key")
            .hasMessageContaining("openssl pkcs8 -topk8 -nocrypt");
        String body = pem.lines().filter(line -> !line.startsWith("-----")).findFirst().orElseThrow();
        assertThat(failure.getMessage()).doesNotContain(body);
    }

    /**
     * The premise of the PKCS#1 rule: jetcd's TLS (Netty, no Bouncy Castle on this class path) cannot
     * read that key, so refusing it at start-up loses nothing. Should a later Netty read it, this
     * fails, and the rule can go.
     */
    @Test
    void jetcdItselfShouldRejectAPkcs1Key() {
        Throwable failure = catchThrowable(() -> Client.builder()
            .sslContext(ssl -> ssl.keyManager(certificates.clientCertificate().toFile(),
                    certificates.clientKeyPkcs1().toFile())));
        assertThat(failure).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("private key");
        assertThat(catchThrowable(() -> Client.builder()
            .sslContext(ssl -> ssl.keyManager(certificates.clientCertificate().toFile(),
                    certificates.clientKey().toFile())))).isNull();
    }

    @Test
    void passwordWithoutUsernameShouldFailNamingThePassword() {
        assertThatIllegalArgumentException()
            .isThrownBy(() -> EtcdCoordinatorSettings.builder().password("s3cret").build())
            .withMessageStartingWith("password is set without a username")
            .withMessageNotContaining("s3cret");
    }

    private static EtcdCoordinatorSettings.Builder mutualTls() {
        return EtcdCoordinatorSettings.builder()
            .endpoints(HTTPS)
            .trustCertificates(certificates.caCertificate())
            .clientCertificate(certificates.clientCertificate())
            .clientKey(certificates.clientKey());
    }
}
