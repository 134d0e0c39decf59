package io.pivotpool.autoconfigure.redis;

import java.util.List;

import io.pivotpool.autoconfigure.DistributedProperties;
import io.pivotpool.coordinator.CoordinatorProvider;
import io.pivotpool.redis.RedisCoordinator;
import io.pivotpool.redis.RedisCoordinatorSettings;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.core.env.Environment;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * The {@code redis} backend as configured in a Spring Boot application: decides, when the backend
 * is selected, whether the coordinator gets a connection of its own or reuses the application's
 * (the rules are on {@link RedisCoordinatorAutoConfiguration}).
 */
final class AutoConfiguredRedisCoordinatorProvider implements CoordinatorProvider {

    private static final Log logger = LogFactory.getLog(AutoConfiguredRedisCoordinatorProvider.class);

    /** Every key under {@code distributed.redis}; setting any one of them asks for an own connection. */
    private static final List<String> REDIS_PROPERTIES = List.of("host", "port", "username", "password", "database",
            "ssl", "timeout");

    private final DistributedProperties.Redis properties;

    private final boolean ownConnection;

    private final ObjectProvider<RedisConnectionFactory> connectionFactories;

    AutoConfiguredRedisCoordinatorProvider(DistributedProperties.Redis properties, boolean ownConnection,
            ObjectProvider<RedisConnectionFactory> connectionFactories) {
        this.properties = properties;
        this.ownConnection = ownConnection;
        this.connectionFactories = connectionFactories;
    }

    /** Whether any {@code distributed.redis.*} property is set, in any of its relaxed forms. */
    static boolean anyRedisPropertySet(Environment environment) {
        Binder binder = Binder.get(environment);
        for (String property : REDIS_PROPERTIES) {
            if (binder.bind("distributed.redis." + property, Bindable.of(String.class)).isBound()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String name() {
        return RedisCoordinator.NAME;
    }

    /**
     * @throws IllegalStateException if the application's only connection factory is not Lettuce's
     *     and no {@code distributed.redis.*} property gives the coordinator its own connection
     */
    @Override
    public RedisCoordinator create(String namespace) {
        if (!this.ownConnection) {
            RedisConnectionFactory application = this.connectionFactories.getIfUnique();
            if (application instanceof LettuceConnectionFactory lettuce) {
                logger.info("Redis coordinator reuses the application's RedisConnectionFactory ("
                        + lettuce.getHostName() + ":" + lettuce.getPort() + ", spring.data.redis.*), each call bounded by "
                        + this.properties.getTimeout() + "; set distributed.redis.* to give it a connection of its own");
                // Bounded by distributed.redis.timeout, not only the factory's (Lettuce's default: 60 s), so
                // that neither a sync round nor shutdown's release and unregister can outlast it.
                return RedisCoordinator.create(lettuce, namespace, this.properties.getTimeout());
            }
            if (application != null) {
                throw new IllegalStateException("the application's RedisConnectionFactory is a "
                        + application.getClass().getName() + " and the Redis coordinator needs Lettuce; set "
                        + "distributed.redis.host (and the other distributed.redis.* properties) to give it a "
                        + "connection of its own");
            }
        }
        RedisCoordinatorSettings settings = settings(namespace);
        logger.info("Redis coordinator connects to " + settings.host() + ":" + settings.port()
                + " with a connection of its own (distributed.redis.*)");
        return RedisCoordinator.create(settings);
    }

    /** The connection settings from {@code distributed.redis.*}, already checked at start-up. */
    RedisCoordinatorSettings settings(String namespace) {
        return RedisCoordinatorSettings.builder()
            .host(this.properties.getHost())
            .port(this.properties.getPort())
            .username(this.properties.getUsername())
            .password(this.properties.getPassword())
            .database(this.properties.getDatabase())
            .ssl(this.properties.isSsl())
            .timeout(this.properties.getTimeout())
            .namespace(namespace)
            .build();
    }

    /** Says which connection it would use, never a password. */
    @Override
    public String toString() {
        return "AutoConfiguredRedisCoordinatorProvider[" + (this.ownConnection ? "own connection, " + this.properties
                : "the application's RedisConnectionFactory if it is Lettuce's, else localhost:6379") + "]";
    }
}
