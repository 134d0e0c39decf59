package io.pivotpool.redis;

import java.util.Objects;

import io.pivotpool.coordinator.CoordinatorProvider;

import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * Makes Redis selectable as {@code distributed.coordination: redis}: creates a
 * {@link RedisCoordinator} under the namespace the selection hands over, either with a connection
 * of its own ({@link #of(RedisCoordinatorSettings)}) or on an existing connection factory
 * ({@link #sharing(LettuceConnectionFactory)}).
 */
public final class RedisCoordinatorProvider implements CoordinatorProvider {

    private final RedisCoordinatorSettings settings;

    private final LettuceConnectionFactory connectionFactory;

    private RedisCoordinatorProvider(RedisCoordinatorSettings settings, LettuceConnectionFactory connectionFactory) {
        this.settings = settings;
        this.connectionFactory = connectionFactory;
    }

    /** Coordinators with a connection of their own; the settings' namespace is replaced by the selection's. */
    public static RedisCoordinatorProvider of(RedisCoordinatorSettings settings) {
        return new RedisCoordinatorProvider(Objects.requireNonNull(settings, "settings must not be null"), null);
    }

    /** Coordinators on an existing, started connection factory, which they never close. */
    public static RedisCoordinatorProvider sharing(LettuceConnectionFactory connectionFactory) {
        return new RedisCoordinatorProvider(null,
                Objects.requireNonNull(connectionFactory, "connectionFactory must not be null"));
    }

    @Override
    public String name() {
        return RedisCoordinator.NAME;
    }

    @Override
    public RedisCoordinator create(String namespace) {
        if (this.connectionFactory != null) {
            return RedisCoordinator.create(this.connectionFactory, namespace);
        }
        return RedisCoordinator.create(this.settings.toBuilder().namespace(namespace).build());
    }

    @Override
    public String toString() {
        return "RedisCoordinatorProvider["
                + ((this.connectionFactory != null) ? "shared connection factory" : this.settings) + "]";
    }
}
