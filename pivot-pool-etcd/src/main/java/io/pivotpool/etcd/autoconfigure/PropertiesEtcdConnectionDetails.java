package io.pivotpool.etcd.autoconfigure;

import java.util.List;

import org.jspecify.annotations.Nullable;

/** The connection details of {@code distributed.etcd.*}, when no other bean gives them. */
final class PropertiesEtcdConnectionDetails implements EtcdConnectionDetails {

    private final EtcdProperties properties;

    PropertiesEtcdConnectionDetails(EtcdProperties properties) {
        this.properties = properties;
    }

    @Override
    public List<String> getEndpoints() {
        return this.properties.getEndpoints();
    }

    @Override
    public @Nullable String getUsername() {
        return this.properties.getUsername();
    }

    @Override
    public @Nullable String getPassword() {
        return this.properties.getPassword();
    }

    /** Never shows the password. */
    @Override
    public String toString() {
        return "distributed.etcd.* " + this.properties;
    }
}
