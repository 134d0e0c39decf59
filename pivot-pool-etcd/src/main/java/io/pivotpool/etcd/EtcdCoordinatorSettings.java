package io.pivotpool.etcd;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

import io.pivotpool.coordinator.RemoteText;

import org.jspecify.annotations.Nullable;

/**
 * Where an {@link EtcdCoordinator} finds its etcd cluster and how long it waits for it: the
 * framework-neutral form of the {@code distributed.etcd.*} properties.
 *
 * <p>Immutable; build one with {@link #builder()}. {@link #toString()} never shows the password.
 */
public final class EtcdCoordinatorSettings {

    /** The namespace used when none is given, as {@code distributed.namespace} defaults to it. */
    public static final String DEFAULT_NAMESPACE = "pivot:pools";

    /** How long one operation may take when no timeout is given. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);

    /** The endpoint used when none is given. */
    public static final String DEFAULT_ENDPOINT = "http://localhost:2379";

    private final List<String> endpoints;

    private final @Nullable String username;

    private final @Nullable String password;

    private final Duration timeout;

    private final String namespace;

    private final @Nullable Path trustCertificates;

    private EtcdCoordinatorSettings(Builder builder) {
        this.endpoints = List.copyOf(builder.endpoints);
        this.username = builder.username;
        this.password = builder.password;
        this.timeout = builder.timeout;
        this.namespace = builder.namespace;
        this.trustCertificates = builder.trustCertificates;
    }

    /** A builder starting from {@code http://localhost:2379}, no credentials, 2 s timeout. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding these settings, to derive others (another namespace, for instance). */
    public Builder toBuilder() {
        return builder().endpoints(this.endpoints)
            .username(this.username)
            .password(this.password)
            .timeout(this.timeout)
            .namespace(this.namespace)
            .trustCertificates(this.trustCertificates);
    }

    /** The cluster's client URLs ({@code http://host:2379}, {@code https://...}); jetcd balances across them. */
    public List<String> endpoints() {
        return this.endpoints;
    }

    /** The etcd user, or {@code null} when the cluster has no authentication. */
    public @Nullable String username() {
        return this.username;
    }

    /** The user's password, or {@code null}. Never log it. */
    public @Nullable String password() {
        return this.password;
    }

    /** The most any one coordinator call waits, all its round trips together. */
    public Duration timeout() {
        return this.timeout;
    }

    public String namespace() {
        return this.namespace;
    }

    /** PEM file of the CAs that sign the servers' certificates ({@code https} endpoints), or {@code null}: the JDK's. */
    public @Nullable Path trustCertificates() {
        return this.trustCertificates;
    }

    /** Names the endpoints, the user and the namespace; never the password. */
    @Override
    public String toString() {
        return "EtcdCoordinatorSettings[endpoints=" + this.endpoints + ", username=" + this.username + ", password="
                + ((this.password != null) ? "******" : "none") + ", timeout=" + this.timeout + ", namespace="
                + this.namespace + ((this.trustCertificates != null) ? ", trustCertificates=" + this.trustCertificates : "")
                + "]";
    }

    public static final class Builder {

        private List<String> endpoints = List.of(DEFAULT_ENDPOINT);

        private String username;

        private String password;

        private Duration timeout = DEFAULT_TIMEOUT;

        private String namespace = DEFAULT_NAMESPACE;

        private Path trustCertificates;

        private Builder() {
        }

        /**
         * @throws IllegalArgumentException if the list is empty or an endpoint is not an
         *     {@code http://} or {@code https://} URL with a host and a port
         */
        public Builder endpoints(List<String> endpoints) {
            Objects.requireNonNull(endpoints, "endpoints must not be null");
            if (endpoints.isEmpty()) {
                throw new IllegalArgumentException("endpoints must name at least one etcd client URL");
            }
            for (String endpoint : endpoints) {
                requireEndpoint(endpoint);
            }
            this.endpoints = List.copyOf(endpoints);
            return this;
        }

        public Builder endpoints(String... endpoints) {
            return endpoints(List.of(endpoints));
        }

        public Builder username(String username) {
            this.username = (username != null && !username.isEmpty()) ? username : null;
            return this;
        }

        public Builder password(String password) {
            this.password = (password != null && !password.isEmpty()) ? password : null;
            return this;
        }

        public Builder timeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout must not be null");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout must be positive, was " + timeout);
            }
            this.timeout = timeout;
            return this;
        }

        public Builder namespace(String namespace) {
            Objects.requireNonNull(namespace, "namespace must not be null");
            if (namespace.isEmpty()) {
                throw new IllegalArgumentException("namespace must not be empty");
            }
            this.namespace = namespace;
            return this;
        }

        public Builder trustCertificates(Path trustCertificates) {
            this.trustCertificates = trustCertificates;
            return this;
        }

        /**
         * @throws IllegalArgumentException if a password is set without a user name
         */
        public EtcdCoordinatorSettings build() {
            if (this.password != null && this.username == null) {
                throw new IllegalArgumentException("an etcd password needs a username as well");
            }
            return new EtcdCoordinatorSettings(this);
        }

        private static void requireEndpoint(String endpoint) {
            String rule = "an etcd endpoint must be an http:// or https:// URL with a host and a port, like "
                    + DEFAULT_ENDPOINT;
            if (endpoint == null) {
                throw new IllegalArgumentException(rule + "; was null");
            }
            URI uri;
            try {
                uri = URI.create(endpoint);
            }
            catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(rule + "; was '" + RemoteText.escape(endpoint) + "'");
            }
            if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null
                    || uri.getPort() < 0 || uri.getUserInfo() != null) {
                throw new IllegalArgumentException(rule + "; was '" + RemoteText.escape(endpoint) + "'");
            }
        }
    }
}
