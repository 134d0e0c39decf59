package io.pivotpool.etcd;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

import io.pivotpool.coordinator.support.RemoteText;

import org.jspecify.annotations.Nullable;

/**
 * Where an {@link EtcdCoordinator} finds its etcd cluster and how long it waits for it: the
 * framework-neutral form of the {@code distributed.etcd.*} properties.
 *
 * <p><b>TLS.</b> {@code https://} endpoints always speak TLS; {@code http://} endpoints never do. The
 * server's certificate is checked against {@link #trustCertificates()} if given, else against the
 * JVM's default trust store. {@link #clientCertificate()} and {@link #clientKey()} (both or
 * neither) authenticate the client to a cluster started with {@code --client-cert-auth}. Every TLS
 * file is checked when the settings are built, so that a wrong path or format fails at start-up.
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

    private final @Nullable Path clientCertificate;

    private final @Nullable Path clientKey;

    private EtcdCoordinatorSettings(Builder builder) {
        this.endpoints = List.copyOf(builder.endpoints);
        this.username = builder.username;
        this.password = builder.password;
        this.timeout = builder.timeout;
        this.namespace = builder.namespace;
        this.trustCertificates = builder.trustCertificates;
        this.clientCertificate = builder.clientCertificate;
        this.clientKey = builder.clientKey;
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
            .trustCertificates(this.trustCertificates)
            .clientCertificate(this.clientCertificate)
            .clientKey(this.clientKey);
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

    /**
     * PEM file of the CAs that sign the members' certificates ({@code https://} endpoints), or
     * {@code null}: the JVM's default trust store.
     */
    public @Nullable Path trustCertificates() {
        return this.trustCertificates;
    }

    /**
     * PEM file of the client's certificate (its chain, leaf first), presented to members that
     * require one ({@code --client-cert-auth}), or {@code null}: none. Goes with {@link #clientKey()}.
     */
    public @Nullable Path clientCertificate() {
        return this.clientCertificate;
    }

    /**
     * PEM file of the private key of {@link #clientCertificate()}, or {@code null}. It must be an
     * unencrypted PKCS#8 key ({@code -----BEGIN PRIVATE KEY-----}), the only form jetcd's TLS
     * (Netty without Bouncy Castle) reads: convert a PKCS#1 ({@code BEGIN RSA PRIVATE KEY}) or EC
     * ({@code BEGIN EC PRIVATE KEY}) key with {@code openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8}.
     */
    public @Nullable Path clientKey() {
        return this.clientKey;
    }

    /** Whether the endpoints are {@code https://} (they are all of one scheme). */
    boolean tls() {
        return this.endpoints.get(0).startsWith("https://");
    }

    /** Names the endpoints, the user, the namespace and the TLS files; never the password. */
    @Override
    public String toString() {
        return "EtcdCoordinatorSettings[endpoints=" + this.endpoints + ", username=" + this.username + ", password="
                + ((this.password != null) ? "******" : "none") + ", timeout=" + this.timeout + ", namespace="
                + this.namespace + ((this.trustCertificates != null) ? ", trustCertificates=" + this.trustCertificates : "")
                + ((this.clientCertificate != null) ? ", clientCertificate=" + this.clientCertificate : "")
                + ((this.clientKey != null) ? ", clientKey=" + this.clientKey : "") + "]";
    }

    public static final class Builder {

        private List<String> endpoints = List.of(DEFAULT_ENDPOINT);

        private @Nullable String username;

        private @Nullable String password;

        private Duration timeout = DEFAULT_TIMEOUT;

        private String namespace = DEFAULT_NAMESPACE;

        private @Nullable Path trustCertificates;

        private @Nullable Path clientCertificate;

        private @Nullable Path clientKey;

        private Builder() {
        }

        /**
         * @throws IllegalArgumentException if the list is empty, an endpoint is not an
         *     {@code http://} or {@code https://} URL with a host and a port, or the list mixes the two
         */
        public Builder endpoints(List<String> endpoints) {
            Objects.requireNonNull(endpoints, "endpoints must not be null");
            if (endpoints.isEmpty()) {
                throw new IllegalArgumentException("endpoints must name at least one etcd client URL");
            }
            for (String endpoint : endpoints) {
                requireEndpoint(endpoint);
            }
            // jetcd opens one channel to all members and decides TLS or plain text for the whole channel.
            if (endpoints.stream().map(endpoint -> endpoint.startsWith("https://")).distinct().count() > 1) {
                throw new IllegalArgumentException("endpoints must be all http:// or all https://: jetcd speaks one "
                        + "protocol to every member; was " + RemoteText.escape(String.valueOf(endpoints)));
            }
            this.endpoints = List.copyOf(endpoints);
            return this;
        }

        public Builder endpoints(String... endpoints) {
            return endpoints(List.of(endpoints));
        }

        public Builder username(@Nullable String username) {
            this.username = (username != null && !username.isEmpty()) ? username : null;
            return this;
        }

        public Builder password(@Nullable String password) {
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

        /** PEM file of the CAs to trust for {@code https://} endpoints; {@code null}: the JVM's default trust store. */
        public Builder trustCertificates(@Nullable Path trustCertificates) {
            this.trustCertificates = trustCertificates;
            return this;
        }

        /** PEM file of the client certificate for {@code --client-cert-auth}; needs {@link #clientKey(Path)}. */
        public Builder clientCertificate(@Nullable Path clientCertificate) {
            this.clientCertificate = clientCertificate;
            return this;
        }

        /** Unencrypted PKCS#8 PEM file of the client certificate's key; see {@link EtcdCoordinatorSettings#clientKey()}. */
        public Builder clientKey(@Nullable Path clientKey) {
            this.clientKey = clientKey;
            return this;
        }

        /**
         * Checks the rules between the settings, and reads the TLS files far enough to know that
         * they are what they claim (never showing their content).
         *
         * @throws IllegalArgumentException whose message begins with the name of the setting that
         *     breaks a rule, spelt as its {@code distributed.etcd.*} property ({@code password},
         *     {@code trust-certificates}, {@code client-certificate}, {@code client-key}), so that
         *     the Boot properties can name it in full: a password without a user name; only one of
         *     client certificate and key; a TLS file with {@code http://} endpoints; a TLS file that
         *     is missing, unreadable or not PEM of the right kind
         */
        public EtcdCoordinatorSettings build() {
            if (this.password != null && this.username == null) {
                throw new IllegalArgumentException("password is set without a username: etcd authenticates a user");
            }
            if (this.clientCertificate != null && this.clientKey == null) {
                throw new IllegalArgumentException("client-certificate (" + this.clientCertificate
                        + ") is set without client-key: a client certificate needs its private key");
            }
            if (this.clientKey != null && this.clientCertificate == null) {
                throw new IllegalArgumentException(
                        "client-key (" + this.clientKey + ") is set without client-certificate: the key needs its certificate");
            }
            boolean https = this.endpoints.get(0).startsWith("https://");
            requireTlsFile("trust-certificates", this.trustCertificates, https, PemKind.CERTIFICATE);
            requireTlsFile("client-certificate", this.clientCertificate, https, PemKind.CERTIFICATE);
            requireTlsFile("client-key", this.clientKey, https, PemKind.PRIVATE_KEY);
            return new EtcdCoordinatorSettings(this);
        }

        /**
         * A TLS file: only with {@code https://} endpoints (with {@code http://} ones jetcd would speak
         * plain text, and a user who set a certificate believes otherwise), readable, and PEM of the
         * kind Netty reads.
         */
        private void requireTlsFile(String setting, @Nullable Path file, boolean https, PemKind kind) {
            if (file == null) {
                return;
            }
            if (!https) {
                throw new IllegalArgumentException(setting + " (" + file + ") is set, but the endpoints "
                        + this.endpoints + " are http://, plain text: use https:// endpoints for TLS, or remove "
                        + setting);
            }
            if (!Files.exists(file)) {
                throw new IllegalArgumentException(setting + " must be a readable PEM file, was " + file
                        + " (no such file)");
            }
            if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
                throw new IllegalArgumentException(setting + " must be a readable PEM file, was " + file
                        + " (" + (Files.isRegularFile(file) ? "not readable by this process" : "not a file") + ")");
            }
            String text;
            try (InputStream in = Files.newInputStream(file)) {
                // PEM files are small; reading no more than this keeps a wrong path (a disk image) harmless.
                byte[] head = in.readNBytes(PEM_READ_LIMIT);
                text = new String(head, StandardCharsets.US_ASCII);
            }
            catch (IOException ex) {
                throw new IllegalArgumentException(setting + " must be a readable PEM file, was " + file + " ("
                        + ex.getClass().getSimpleName() + ")", ex);
            }
            // Only which PEM labels the file has ever reaches a message: never its content (a key is secret).
            String problem = kind.problem(text);
            if (problem != null) {
                throw new IllegalArgumentException(setting + " (" + file + ") " + problem);
            }
        }

        private static final int PEM_READ_LIMIT = 1024 * 1024;

        /** What a PEM file must hold, and how to tell what is wrong with it without quoting it. */
        private enum PemKind {

            CERTIFICATE {
                @Override
                @Nullable String problem(String text) {
                    return text.contains("-----BEGIN CERTIFICATE-----") ? null
                            : "must be a PEM file of X.509 certificates (-----BEGIN CERTIFICATE-----)";
                }
            },

            PRIVATE_KEY {
                @Override
                @Nullable String problem(String text) {
                    String convert = ": jetcd (Netty) reads only an unencrypted PKCS#8 key (-----BEGIN PRIVATE KEY-----); "
                            + "convert it with openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8";
                    if (text.contains("-----BEGIN PRIVATE KEY-----")) {
                        return null;
                    }
                    if (text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
                        return "is an encrypted key" + convert;
                    }
                    if (text.contains("-----BEGIN RSA PRIVATE KEY-----") || text.contains("-----BEGIN EC PRIVATE KEY-----")
                            || text.contains("-----BEGIN DSA PRIVATE KEY-----")) {
                        return "is a PKCS#1 or SEC 1 key" + convert;
                    }
                    return "must be a PEM file of a private key (-----BEGIN PRIVATE KEY-----, PKCS#8)";
                }
            };

            /** What is wrong, or {@code null}. */
            abstract @Nullable String problem(String text);
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
