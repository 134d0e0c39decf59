package io.pivotpool.redis;

import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;

import io.pivotpool.coordinator.CoordinatorProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

import org.jspecify.annotations.Nullable;

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

    /** The timeout on a shared factory. */
    private final Duration sharedTimeout;

    /** The connection of its own (when nothing is shared), resolved at {@link #create(String)}. */
    private final @Nullable Supplier<OwnConnection> ownConnection;

    /** The factory to share, asked for at {@link #create(String)}; null: always a connection of its own. */
    private final @Nullable Supplier<? extends RedisConnectionFactory> sharedFactory;

    private final String description;

    private RedisCoordinatorProvider(Duration sharedTimeout, @Nullable Supplier<OwnConnection> ownConnection,
            @Nullable Supplier<? extends RedisConnectionFactory> sharedFactory, String description) {
        this.sharedTimeout = sharedTimeout;
        this.ownConnection = ownConnection;
        this.sharedFactory = sharedFactory;
        this.description = description;
    }

    /**
     * The settings of a connection of its own, and where they come from, as the log line saying
     * which connection the coordinator uses names it ({@code "distributed.redis.*"},
     * {@code "spring.data.redis.*"}, ...).
     */
    public record OwnConnection(RedisCoordinatorSettings settings, String origin) {

        public OwnConnection {
            Objects.requireNonNull(settings, "settings must not be null");
            Objects.requireNonNull(origin, "origin must not be null");
        }
    }

    /** Coordinators with a connection of their own; the settings' namespace is replaced by the selection's. */
    public static RedisCoordinatorProvider of(RedisCoordinatorSettings settings) {
        return of(new OwnConnection(settings, "the settings given to RedisCoordinatorProvider.of"));
    }

    /** Coordinators with a connection of their own, whose origin the log names. */
    public static RedisCoordinatorProvider of(OwnConnection connection) {
        Objects.requireNonNull(connection, "connection must not be null");
        return new RedisCoordinatorProvider(connection.settings().timeout(), () -> connection, null,
                "own connection from " + connection.origin() + ", " + connection.settings());
    }

    /**
     * Coordinators on an existing, started connection factory, which they never close, waiting at
     * most {@link RedisCoordinatorSettings#DEFAULT_TIMEOUT} per operation.
     */
    public static RedisCoordinatorProvider sharing(LettuceConnectionFactory connectionFactory) {
        Objects.requireNonNull(connectionFactory, "connectionFactory must not be null");
        return new RedisCoordinatorProvider(RedisCoordinatorSettings.DEFAULT_TIMEOUT, null, () -> connectionFactory,
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
        Objects.requireNonNull(settings, "settings must not be null");
        OwnConnection own = new OwnConnection(settings, "the settings given to RedisCoordinatorProvider.reusing");
        return reusing(applicationFactory, settings.timeout(), () -> own);
    }

    /**
     * Coordinators on the application's connection factory if {@code applicationFactory} supplies
     * one when a coordinator is created (each operation then waits at most {@code sharedTimeout},
     * whatever the factory's own command timeout), else with the connection of their own that
     * {@code otherwise} resolves then, and whose origin the log names.
     */
    public static RedisCoordinatorProvider reusing(Supplier<? extends RedisConnectionFactory> applicationFactory,
            Duration sharedTimeout, Supplier<OwnConnection> otherwise) {
        Objects.requireNonNull(applicationFactory, "applicationFactory must not be null");
        Objects.requireNonNull(sharedTimeout, "sharedTimeout must not be null");
        Objects.requireNonNull(otherwise, "otherwise must not be null");
        return new RedisCoordinatorProvider(sharedTimeout, otherwise, applicationFactory,
                "the application's RedisConnectionFactory if it has one, else a connection of its own");
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
                    lettuce.getPort(), this.sharedTimeout);
            // Bounded by the coordinator's timeout, not only the factory's (Lettuce's default: 60 s), so
            // that neither a sync round nor shutdown's release and unregister can outlast it.
            return RedisCoordinator.create(lettuce, namespace, this.sharedTimeout);
        }
        if (shared != null) {
            throw new IllegalStateException("the application's RedisConnectionFactory is a "
                    + shared.getClass().getName() + " and the Redis coordinator needs Lettuce; set "
                    + "distributed.redis.host (and the other distributed.redis.* properties) to give it a "
                    + "connection of its own");
        }
        Supplier<OwnConnection> ownConnection = this.ownConnection;
        if (ownConnection == null) {
            throw new IllegalStateException("the connection factory to share gave none, and this provider has no "
                    + "connection settings of its own");
        }
        OwnConnection own = ownConnection.get();
        RedisCoordinatorSettings settings = own.settings();
        logger.info("Redis coordinator connects to {}:{} (database {}{}) with a connection of its own, from {}",
                settings.host(), settings.port(), settings.database(), settings.ssl() ? ", TLS" : "", own.origin());
        return RedisCoordinator.create(settings.toBuilder().namespace(namespace).build());
    }

    /** Says which connection it would use, never a password. */
    @Override
    public String toString() {
        return "RedisCoordinatorProvider[" + this.description + "]";
    }
}
