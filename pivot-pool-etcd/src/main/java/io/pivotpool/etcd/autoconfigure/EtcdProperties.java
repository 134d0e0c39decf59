package io.pivotpool.etcd.autoconfigure;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.pivotpool.etcd.EtcdCoordinatorSettings;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * How the etcd coordinator reaches its cluster ({@code distributed.etcd.*}); used when
 * {@code distributed.coordination} is {@code etcd}. The namespace is {@code distributed.namespace}.
 */
@ConfigurationProperties("distributed.etcd")
public class EtcdProperties {

    /** Client URLs of the etcd cluster's members, http:// or https://; the client balances across them and fails over. */
    private List<String> endpoints = new ArrayList<>(List.of(EtcdCoordinatorSettings.DEFAULT_ENDPOINT));

    /** User of an etcd cluster with authentication enabled; empty: none. */
    private String username;

    /** Password of that user. Never logged; masked in the actuator's configprops and env endpoints. */
    private String password;

    /** The most any one coordinator call waits for etcd, all its round trips together. */
    private Duration timeout = EtcdCoordinatorSettings.DEFAULT_TIMEOUT;

    /** PEM file of the certificate authorities that sign the members' certificates (https endpoints); empty: the JDK's. */
    private Path trustCertificates;

    public List<String> getEndpoints() {
        return this.endpoints;
    }

    public void setEndpoints(List<String> endpoints) {
        this.endpoints = endpoints;
    }

    public String getUsername() {
        return this.username;
    }

    public void setUsername(String username) {
        this.username = username;
    }

    public String getPassword() {
        return this.password;
    }

    public void setPassword(String password) {
        this.password = password;
    }

    public Duration getTimeout() {
        return this.timeout;
    }

    public void setTimeout(Duration timeout) {
        this.timeout = timeout;
    }

    public Path getTrustCertificates() {
        return this.trustCertificates;
    }

    public void setTrustCertificates(Path trustCertificates) {
        this.trustCertificates = trustCertificates;
    }

    /**
     * The settings these properties describe.
     *
     * @throws IllegalArgumentException naming the property and the rule a value breaks
     */
    EtcdCoordinatorSettings toSettings(String namespace) {
        EtcdCoordinatorSettings.Builder builder = EtcdCoordinatorSettings.builder();
        try {
            builder.endpoints(this.endpoints);
        }
        catch (IllegalArgumentException | NullPointerException ex) {
            throw new IllegalArgumentException("distributed.etcd.endpoints: " + ex.getMessage(), ex);
        }
        try {
            builder.timeout(this.timeout);
        }
        catch (IllegalArgumentException | NullPointerException ex) {
            throw new IllegalArgumentException("distributed.etcd.timeout: " + ex.getMessage(), ex);
        }
        builder.username(this.username).password(this.password).trustCertificates(this.trustCertificates);
        if (namespace != null) {
            builder.namespace(namespace);
        }
        try {
            return builder.build();
        }
        catch (IllegalArgumentException ex) {
            throw new IllegalArgumentException("distributed.etcd.password is set without distributed.etcd.username", ex);
        }
    }

    /** Never shows the password. */
    @Override
    public String toString() {
        return "EtcdProperties[endpoints=" + this.endpoints + ", username=" + this.username + ", password="
                + ((this.password != null && !this.password.isEmpty()) ? "******" : "none") + ", timeout=" + this.timeout
                + "]";
    }
}
