package io.pivotpool.redis;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import io.pivotpool.distributed.DistributedSettings.InvalidSettingException;

import org.jspecify.annotations.Nullable;

/**
 * Where a {@link RedisCoordinator} finds its Redis server and how long it waits for it: the
 * framework-neutral form of the {@code distributed.redis.*} properties.
 *
 * <p>Immutable; build one with {@link #builder()}. {@link #toString()} never shows the password.
 */
public final class RedisCoordinatorSettings {

    /** The namespace used when none is given, as {@code distributed.namespace} defaults to it. */
    public static final String DEFAULT_NAMESPACE = "pivot:pools";

    /** How long one operation may take when no timeout is given. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);

    private final String host;

    private final int port;

    private final @Nullable String username;

    private final @Nullable String password;

    private final int database;

    private final boolean ssl;

    private final @Nullable Path sslTrustedCertificates;

    private final Duration timeout;

    private final String namespace;

    /** From a builder whose {@code build()} checked it: host and timeout as it found them set. */
    private RedisCoordinatorSettings(Builder builder, String host, Duration timeout) {
        this.host = host;
        this.port = builder.port;
        this.username = builder.username;
        this.password = builder.password;
        this.database = builder.database;
        this.ssl = builder.ssl;
        this.sslTrustedCertificates = builder.sslTrustedCertificates;
        this.timeout = timeout;
        this.namespace = builder.namespace;
    }

    /** A builder starting from {@code localhost:6379}, database 0, no credentials, 2 s timeout. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding these settings, to derive others (another namespace, for instance). */
    public Builder toBuilder() {
        return builder().host(this.host)
            .port(this.port)
            .username(this.username)
            .password(this.password)
            .database(this.database)
            .ssl(this.ssl)
            .sslTrustedCertificates(this.sslTrustedCertificates)
            .timeout(this.timeout)
            .namespace(this.namespace);
    }

    public String host() {
        return this.host;
    }

    public int port() {
        return this.port;
    }

    /** The ACL user name, or {@code null} for the default user. */
    public @Nullable String username() {
        return this.username;
    }

    /** The password, or {@code null} if the server needs none. Never log it. */
    public @Nullable String password() {
        return this.password;
    }

    public int database() {
        return this.database;
    }

    public boolean ssl() {
        return this.ssl;
    }

    /**
     * The PEM file of the certificates (a private CA, typically) trusted to sign the server's TLS
     * certificate, or {@code null} to trust the JVM's default trust store. Only with {@link #ssl()}.
     */
    public @Nullable Path sslTrustedCertificates() {
        return this.sslTrustedCertificates;
    }

    /** The most one operation (a connect, a command, a script) may take before it fails. */
    public Duration timeout() {
        return this.timeout;
    }

    /** The prefix every key lives under, shared by all instances of one application. */
    public String namespace() {
        return this.namespace;
    }

    @Override
    public String toString() {
        return "RedisCoordinatorSettings[host=" + this.host + ", port=" + this.port + ", username=" + this.username
                + ", password=" + ((this.password != null) ? "******" : null) + ", database=" + this.database
                + ", ssl=" + this.ssl
                + ((this.sslTrustedCertificates != null) ? ", sslTrustedCertificates=" + this.sslTrustedCertificates : "")
                + ", timeout=" + this.timeout + ", namespace=" + this.namespace + "]";
    }

    /** Builds {@link RedisCoordinatorSettings}; {@link #build()} rejects values Redis could not use. */
    public static final class Builder {

        private @Nullable String host = "localhost";

        private int port = 6379;

        private @Nullable String username;

        private @Nullable String password;

        private int database;

        private boolean ssl;

        private @Nullable Path sslTrustedCertificates;

        private @Nullable Duration timeout = DEFAULT_TIMEOUT;

        private String namespace = DEFAULT_NAMESPACE;

        private Builder() {
        }

        public Builder host(@Nullable String host) {
            this.host = host;
            return this;
        }

        public Builder port(int port) {
            this.port = port;
            return this;
        }

        /** The ACL user name; {@code null} or empty for the default user. */
        public Builder username(@Nullable String username) {
            this.username = (username != null && !username.isEmpty()) ? username : null;
            return this;
        }

        /** The password; {@code null} or empty for none. */
        public Builder password(@Nullable String password) {
            this.password = (password != null && !password.isEmpty()) ? password : null;
            return this;
        }

        public Builder database(int database) {
            this.database = database;
            return this;
        }

        public Builder ssl(boolean ssl) {
            this.ssl = ssl;
            return this;
        }

        /**
         * Trusts the certificates in this PEM file (one or more {@code BEGIN CERTIFICATE} blocks: the
         * private CA that signed the server's certificate) instead of the JVM's default trust store;
         * {@code null} for the default. Needs {@link #ssl(boolean) ssl(true)}. The server's host name
         * is still checked against its certificate.
         */
        public Builder sslTrustedCertificates(@Nullable Path pemFile) {
            this.sslTrustedCertificates = pemFile;
            return this;
        }

        public Builder timeout(@Nullable Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        public Builder namespace(String namespace) {
            this.namespace = namespace;
            return this;
        }

        /**
         * @throws InvalidSettingException naming the setting (as its property is named under
         *         {@code distributed.redis.}; {@code sslTrustedCertificates}, which has no property,
         *         as the builder names it), the value and the rule it breaks
         */
        public RedisCoordinatorSettings build() {
            if (this.host == null || this.host.isBlank()) {
                throw new InvalidSettingException("host", this.host, "must not be empty");
            }
            if (this.port < 1 || this.port > 65535) {
                throw new InvalidSettingException("port", this.port, "must be between 1 and 65535");
            }
            if (this.database < 0) {
                throw new InvalidSettingException("database", this.database, "must not be negative");
            }
            if (this.timeout == null || this.timeout.isNegative() || this.timeout.isZero()) {
                throw new InvalidSettingException("timeout", this.timeout, "must be positive");
            }
            if (this.sslTrustedCertificates != null) {
                if (!this.ssl) {
                    throw new InvalidSettingException("sslTrustedCertificates", this.sslTrustedCertificates,
                            "needs ssl enabled", "ssl");
                }
                if (!Files.isReadable(this.sslTrustedCertificates)) {
                    throw new InvalidSettingException("sslTrustedCertificates", this.sslTrustedCertificates,
                            "must be a readable PEM file");
                }
            }
            RedisKeys.validateNamespace(this.namespace);
            return new RedisCoordinatorSettings(this, this.host, this.timeout);
        }
    }
}
