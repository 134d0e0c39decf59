package io.pivotpool.etcd;

import io.etcd.jetcd.Client;
import io.pivotpool.testsupport.TestCertificates;
import io.pivotpool.testsupport.etcd.EtcdServer;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A test class's own etcd serving clients over TLS only, with a throw-away CA
 * ({@link TestCertificates}), and an admin client that trusts it (and presents the client
 * certificate when the member demands one), to prepare keys behind the coordinator's back. Register
 * it as a static field with {@code @RegisterExtension}.
 */
final class TlsEtcd implements BeforeAllCallback, AfterAllCallback {

    private final boolean clientCertificates;

    private TestCertificates certificates;

    private EtcdServer server;

    private Client admin;

    private TlsEtcd(boolean clientCertificates) {
        this.clientCertificates = clientCertificates;
    }

    /** A member whose certificate clients check; it asks none of theirs. */
    static TlsEtcd serverCertificateOnly() {
        return new TlsEtcd(false);
    }

    /** A member started with {@code --client-cert-auth}: clients must present a certificate of its CA. */
    static TlsEtcd mutual() {
        return new TlsEtcd(true);
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        this.certificates = TestCertificates.create();
        this.server = this.clientCertificates ? EtcdServer.startWithMutualTls(this.certificates)
                : EtcdServer.startWithTls(this.certificates);
        this.admin = Client.builder().endpoints(this.server.endpoints().toArray(String[]::new)).sslContext(ssl -> {
            ssl.trustManager(this.certificates.caCertificate().toFile());
            if (this.clientCertificates) {
                ssl.keyManager(this.certificates.clientCertificate().toFile(), this.certificates.clientKey().toFile());
            }
        }).build();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (this.admin != null) {
            this.admin.close();
        }
        if (this.server != null) {
            this.server.close();
        }
        if (this.certificates != null) {
            this.certificates.close();
        }
    }

    TestCertificates certificates() {
        return this.certificates;
    }

    EtcdServer server() {
        return this.server;
    }

    Client admin() {
        return this.admin;
    }
}
