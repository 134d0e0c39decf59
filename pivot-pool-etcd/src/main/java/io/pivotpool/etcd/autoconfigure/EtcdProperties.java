package io.pivotpool.etcd.autoconfigure;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.pivotpool.etcd.EtcdCoordinatorSettings;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * How the etcd coordinator reaches its cluster ({@code distributed.etcd.*}); used when
 * {@code distributed.coordination} is {@code etcd}. The namespace is {@code distributed.namespace}.
 */
@ConfigurationProperties("distributed.etcd")
public class EtcdProperties {

    /** Client URLs of the etcd cluster's members, all http:// or all https:// (TLS); the client balances across them and fails over. */
    private List<String> endpoints = new ArrayList<>(List.of(EtcdCoordinatorSettings.DEFAULT_ENDPOINT));

    /** User of an etcd cluster with authentication enabled; empty: none. */
    private @Nullable String username;

    /** Password of that user. Never logged; masked in the actuator's configprops and env endpoints. */
    private @Nullable String password;

    /** The most any one coordinator call waits for etcd, all its round trips together. */
    private Duration timeout = EtcdCoordinatorSettings.DEFAULT_TIMEOUT;

    /** PEM file of the certificate authorities that sign the members' certificates (https endpoints only); empty: the JVM's default trust store. */
    private @Nullable Path trustCertificates;

    /** PEM file of the client certificate, for members started with --client-cert-auth (https endpoints only); set client-key with it. */
    private @Nullable Path clientCertificate;

    /** PEM file of the client certificate's private key: unencrypted PKCS#8 (BEGIN PRIVATE KEY), as jetcd reads no other; convert with 'openssl pkcs8 -topk8 -nocrypt'. */
    private @Nullable Path clientKey;

    public List<String> getEndpoints() {
        return this.endpoints;
    }

    public void setEndpoints(List<String> endpoints) {
        this.endpoints = endpoints;
    }

    public @Nullable String getUsername() {
        return this.username;
    }

    public void setUsername(@Nullable String username) {
        this.username = username;
    }

    public @Nullable String getPassword() {
        return this.password;
    }

    public void setPassword(@Nullable String password) {
        this.password = password;
    }

    public Duration getTimeout() {
        return this.timeout;
    }

    public void setTimeout(Duration timeout) {
        this.timeout = timeout;
    }

    public @Nullable Path getTrustCertificates() {
        return this.trustCertificates;
    }

    public void setTrustCertificates(@Nullable Path trustCertificates) {
        this.trustCertificates = trustCertificates;
    }

    public @Nullable Path getClientCertificate() {
        return this.clientCertificate;
    }

    public void setClientCertificate(@Nullable Path clientCertificate) {
        this.clientCertificate = clientCertificate;
    }

    public @Nullable Path getClientKey() {
        return this.clientKey;
    }

    public void setClientKey(@Nullable Path clientKey) {
        this.clientKey = clientKey;
    }

    /**
     * The settings these properties describe, with the endpoints and credentials of {@code details}
     * (these properties themselves unless a bean of {@link EtcdConnectionDetails} replaces them).
     *
     * @throws IllegalArgumentException naming the property (or the details) and the rule a value breaks
     */
    EtcdCoordinatorSettings toSettings(EtcdConnectionDetails details, @Nullable String namespace) {
        String source = (details instanceof PropertiesEtcdConnectionDetails) ? "distributed.etcd."
                : "EtcdConnectionDetails " + details.getClass().getName() + ": ";
        EtcdCoordinatorSettings.Builder builder = EtcdCoordinatorSettings.builder();
        try {
            builder.endpoints(details.getEndpoints());
        }
        catch (IllegalArgumentException | NullPointerException ex) {
            throw new IllegalArgumentException(source + "endpoints: " + ex.getMessage(), ex);
        }
        try {
            builder.timeout(this.timeout);
        }
        catch (IllegalArgumentException | NullPointerException ex) {
            throw new IllegalArgumentException("distributed.etcd.timeout: " + ex.getMessage(), ex);
        }
        builder.username(details.getUsername())
            .password(details.getPassword())
            .trustCertificates(this.trustCertificates)
            .clientCertificate(this.clientCertificate)
            .clientKey(this.clientKey);
        if (namespace != null) {
            builder.namespace(namespace);
        }
        try {
            return builder.build();
        }
        catch (IllegalArgumentException ex) {
            // build() begins its message with the setting's name as it is spelt under distributed.etcd.
            throw new IllegalArgumentException("distributed.etcd." + ex.getMessage(), ex);
        }
    }

    /** Never shows the password. */
    @Override
    public String toString() {
        return "EtcdProperties[endpoints=" + this.endpoints + ", username=" + this.username + ", password="
                + ((this.password != null && !this.password.isEmpty()) ? "******" : "none") + ", timeout=" + this.timeout
                + ((this.trustCertificates != null) ? ", trust-certificates=" + this.trustCertificates : "")
                + ((this.clientCertificate != null) ? ", client-certificate=" + this.clientCertificate : "")
                + ((this.clientKey != null) ? ", client-key=" + this.clientKey : "") + "]";
    }
}
