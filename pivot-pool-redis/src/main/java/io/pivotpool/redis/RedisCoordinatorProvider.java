package io.pivotpool.redis;

import java.util.Objects;
import java.util.function.Supplier;

import io.pivotpool.coordinator.CoordinatorProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * Makes Redis selectable as {@code distributed.coordination: redis}: creates a
 * {@link RedisCoordinator} under the namespace the selection hands over, with a connection of its
 * own ({@link #of(RedisCoordinatorSettings)}), on an existing connection factory
 * ({@link #sharing(LettuceConnectionFactory)}), or on the application's factory when it has one
 * ({@link #reusing(Supplier, RedisCoordinatorSettings)}, what the Spring Boot auto-configuration
 * uses when no {@code distributed.redis.*} property is set).
 */
public final class RedisCoordinatorProvider implements CoordinatorProvider {

    private static final Logger logger = LoggerFactory.getLogger(RedisCoordinatorProvider.class);

    /** The connection of its own, and the timeout on a shared factory. */
    private final RedisCoordinatorSettings settings;

    /** The factory to share, asked for at {@link #create(String)}; null: always a connection of its own. */
    private final Supplier<? extends RedisConnectionFactory> sharedFactory;

    private final String description;

    private RedisCoordinatorProvider(RedisCoordinatorSettings settings,
            Supplier<? extends RedisConnectionFactory> sharedFactory, String description) {
        this.settings = settings;
        this.sharedFactory = sharedFactory;
        this.description = description;
    }

    /** Coordinators with a connection of their own; the settings' namespace is replaced by the selection's. */
    public static RedisCoordinatorProvider of(RedisCoordinatorSettings settings) {
        Objects.requireNonNull(settings, "settings must not be null");
        return new RedisCoordinatorProvider(settings, null, "own connection, " + settings);
    }

    /**
     * Coordinators on an existing, started connection factory, which they never close, waiting at
     * most {@link RedisCoordinatorSettings#DEFAULT_TIMEOUT} per operation.
     */
    public static RedisCoordinatorProvider sharing(LettuceConnectionFactory connectionFactory) {
        Objects.requireNonNull(connectionFactory, "connectionFactory must not be null");
        return new RedisCoordinatorProvider(RedisCoordinatorSettings.builder().build(), () -> connectionFactory,
                "shared connection factory");
    }

    /**
     * Coordinators on the application's connection factory if {@code applicationFactory} supplies
     * one when a coordinator is created (each operation then waits at most the settings' timeout,
     * whatever the factory's own command timeout), else with a connection of their own from
     * {@code settings}. A factory that is not Lettuce's cannot be shared, as blocking pops need
     * Lettuce's client: creating then fails, saying to configure a connection of its own.
     */
    public static RedisCoordinatorProvider reusing(Supplier<? extends RedisConnectionFactory> applicationFactory,
            RedisCoordinatorSettings settings) {
        Objects.requireNonNull(applicationFactory, "applicationFactory must not be null");
        Objects.requireNonNull(settings, "settings must not be null");
        return new RedisCoordinatorProvider(settings, applicationFactory,
                "the application's RedisConnectionFactory if it is Lettuce's, else " + settings.host() + ":"
                        + settings.port());
    }

    @Override
    public String name() {
        return RedisCoordinator.NAME;
    }

    /**
     * @throws IllegalStateException if the factory to share is not Lettuce's
     */
    @Override
    public RedisCoordinator create(String namespace) {
        RedisConnectionFactory shared = (this.sharedFactory != null) ? this.sharedFactory.get() : null;
        if (shared instanceof LettuceConnectionFactory lettuce) {
            logger.info("Redis coordinator reuses the application's RedisConnectionFactory ({}:{}), each call bounded "
                    + "by {}; set distributed.redis.* to give it a connection of its own", lettuce.getHostName(),
                    lettuce.getPort(), this.settings.timeout());
            // Bounded by the coordinator's timeout, not only the factory's (Lettuce's default: 60 s), so
            // that neither a sync round nor shutdown's release and unregister can outlast it.
            return RedisCoordinator.create(lettuce, namespace, this.settings.timeout());
        }
        if (shared != null) {
            throw new IllegalStateException("the application's RedisConnectionFactory is a "
                    + shared.getClass().getName() + " and the Redis coordinator needs Lettuce; set "
                    + "distributed.redis.host (and the other distributed.redis.* properties) to give it a "
                    + "connection of its own");
        }
        logger.info("Redis coordinator connects to {}:{} with a connection of its own", this.settings.host(),
                this.settings.port());
        return RedisCoordinator.create(this.settings.toBuilder().namespace(namespace).build());
    }

    /** Says which connection it would use, never a password. */
    @Override
    public String toString() {
        return "RedisCoordinatorProvider[" + this.description + "]";
    }
}
