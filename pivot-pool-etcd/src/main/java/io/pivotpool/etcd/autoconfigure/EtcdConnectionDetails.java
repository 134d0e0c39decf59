package io.pivotpool.etcd.autoconfigure;

import java.util.List;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.autoconfigure.service.connection.ConnectionDetails;

/**
 * Where the etcd coordinator connects, as Boot's {@code DataRedisConnectionDetails} says it for
 * Redis: declare a bean of this type (a test's server, a platform's service binding) and it wins
 * over {@code distributed.etcd.endpoints}, {@code .username} and {@code .password}; the other
 * {@code distributed.etcd.*} settings (timeout, TLS files) still apply. Without such a bean the
 * properties are the details.
 */
public interface EtcdConnectionDetails extends ConnectionDetails {

    /** Client URLs of the cluster's members, all {@code http://} or all {@code https://}. */
    List<String> getEndpoints();

    /** The user of a cluster with authentication enabled, or null for none. */
    default @Nullable String getUsername() {
        return null;
    }

    /** That user's password, or null. */
    default @Nullable String getPassword() {
        return null;
    }
}
