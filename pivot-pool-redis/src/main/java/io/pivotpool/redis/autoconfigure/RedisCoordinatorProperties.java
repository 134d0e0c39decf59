package io.pivotpool.redis.autoconfigure;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;

import org.jspecify.annotations.Nullable;

/**
 * The {@code distributed.redis.*} connection settings of the Redis coordinator. Setting any
 * of them gives the coordinator a connection of its own; the rules are checked at start-up, and a
 * broken one stops the application with a message naming the property (never the password).
 */
@ConfigurationProperties("distributed.redis")
public class RedisCoordinatorProperties {

    /** Redis server host. */
    private String host = "localhost";

    /** Redis server port, 1 to 65535. */
    private int port = 6379;

    /** Login user (Redis 6 ACL); unset logs in as the default user. */
    private @Nullable String username;

    /** Login password; never logged nor shown by the actuator. */
    private @Nullable String password;

    /** Database index, 0 or more. */
    private int database;

    /** Whether to connect with TLS. */
    private boolean ssl;

    /** How long one Redis command may take before it fails. */
    // RedisCoordinatorSettings.DEFAULT_TIMEOUT, as a literal that the metadata processor can read.
    private Duration timeout = Duration.ofSeconds(2);

    public String getHost() {
        return this.host;
    }

    public void setHost(String host) {
        this.host = host;
    }

    public int getPort() {
        return this.port;
    }

    public void setPort(int port) {
        this.port = port;
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

    public int getDatabase() {
        return this.database;
    }

    public void setDatabase(int database) {
        this.database = database;
    }

    public boolean isSsl() {
        return this.ssl;
    }

    public void setSsl(boolean ssl) {
        this.ssl = ssl;
    }

    public Duration getTimeout() {
        return this.timeout;
    }

    public void setTimeout(Duration timeout) {
        this.timeout = timeout;
    }

    /** Says whether a password is set, never what it is. */
    @Override
    public String toString() {
        return "RedisCoordinatorProperties[host=" + this.host + ", port=" + this.port + ", username=" + this.username
                + ", password=" + ((this.password != null) ? "******" : null) + ", database=" + this.database
                + ", ssl=" + this.ssl + ", timeout=" + this.timeout + "]";
    }
}
