package io.pivotpool.autoconfigure;

import java.util.Objects;

import org.springframework.boot.context.properties.source.ConfigurationPropertyName;

/**
 * Declares that the keys under {@code prefix} belong to a backend (or other extension) module,
 * which binds and checks them itself: Pivot Pool's start-up check of unknown
 * {@code pivot.pool.*} and {@code distributed.*} keys leaves them alone. Contribute it as a bean
 * from the module's auto-configuration:
 *
 * <pre>{@code
 * @Bean
 * BackendPropertyPrefix zooKeeperPropertyPrefix() {
 *     return new BackendPropertyPrefix("distributed.zookeeper");
 * }
 * }</pre>
 *
 * A backend's keys under {@code distributed.<its name>.*} (the name of its
 * {@code CoordinatorProvider}, such as {@code distributed.redis.*}) need no declaration.
 *
 * @param prefix the property name prefix, in canonical form ({@code distributed.zookeeper})
 */
public record BackendPropertyPrefix(String prefix) {

    public BackendPropertyPrefix {
        Objects.requireNonNull(prefix, "prefix must not be null");
        if (!ConfigurationPropertyName.isValid(prefix) || prefix.isEmpty()) {
            throw new IllegalArgumentException("prefix must be a property name such as 'distributed.zookeeper', was '"
                    + prefix + "'");
        }
    }
}
