package io.pivotpool.redis.autoconfigure;

import java.net.URI;
import java.time.Duration;
import java.util.List;

import io.pivotpool.redis.RedisCoordinatorProvider.OwnConnection;
import io.pivotpool.redis.RedisCoordinatorSettings;

import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.config.ConfigurableBeanFactory;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;
import org.springframework.core.env.Environment;
import org.springframework.util.ClassUtils;

import org.jspecify.annotations.Nullable;

/**
 * The connection of its own that the coordinator opens when no {@code distributed.redis.*}
 * property is set and the application has no {@code RedisConnectionFactory} to reuse: where the
 * application's Redis is, as Spring Boot would connect to it.
 * <ol>
 * <li>Boot's {@link DataRedisConnectionDetails} bean, when {@code spring-boot-data-redis} is on
 * the class path (a Testcontainers {@code @ServiceConnection}, Docker Compose, or
 * {@code spring.data.redis.*} through Boot's own details);</li>
 * <li>else {@code spring.data.redis.*}, read here ({@code url}, {@code host}, {@code port},
 * {@code username}, {@code password}, {@code database}, {@code ssl.enabled}, {@code timeout}), so
 * that this module alone honours them;</li>
 * <li>else {@code localhost:6379}, and the log says why.</li>
 * </ol>
 * Only a standalone server can be reached this way: Sentinel, Cluster and master/replica need the
 * application's factory (add {@code spring-boot-data-redis}) or {@code distributed.redis.*}.
 */
final class ApplicationRedisConnection {

    private static final String CONNECTION_DETAILS = "org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails";

    /** Boot's details built from {@code spring.data.redis.*}, as opposed to a service connection's. */
    private static final String PROPERTIES_DETAILS = "org.springframework.boot.data.redis.autoconfigure.PropertiesDataRedisConnectionDetails";

    private static final List<String> TOPOLOGIES = List.of("sentinel.master", "sentinel.nodes", "cluster.nodes",
            "masterreplica.nodes");

    private ApplicationRedisConnection() {
    }

    static OwnConnection resolve(BeanFactory beanFactory, Environment environment) {
        Binder binder = Binder.get(environment);
        Duration timeout = timeout(binder);
        ClassLoader classLoader = (beanFactory instanceof ConfigurableBeanFactory configurable)
                ? configurable.getBeanClassLoader() : ApplicationRedisConnection.class.getClassLoader();
        if (ClassUtils.isPresent(CONNECTION_DETAILS, classLoader)) {
            OwnConnection fromDetails = ConnectionDetailsReader.read(beanFactory, timeout, anySet(binder));
            if (fromDetails != null) {
                return fromDetails;
            }
        }
        return fromProperties(binder, timeout);
    }

    /** Sentinel, Cluster or master/replica keys, which a connection of its own cannot honour. */
    private static void requireStandalone(Binder binder) {
        for (String topology : TOPOLOGIES) {
            String key = "spring.data.redis." + topology;
            if (binder.bind(key, Bindable.of(String.class)).isBound()) {
                throw new IllegalStateException(key + " is set, and the Redis coordinator's connection of its own "
                        + "reaches a standalone server only: add spring-boot-data-redis (its LettuceConnectionFactory is "
                        + "then reused) or set distributed.redis.*");
            }
        }
    }

    private static boolean anySet(Binder binder) {
        return binder.bind("spring.data.redis", Bindable.mapOf(String.class, Object.class))
            .map((map) -> !map.isEmpty())
            .orElse(false);
    }

    /** The coordinator's default, or {@code spring.data.redis.timeout} when that is shorter. */
    private static Duration timeout(Binder binder) {
        Duration configured = binder.bind("spring.data.redis.timeout", Duration.class).orElse(null);
        if (configured == null || configured.isNegative() || configured.isZero()
                || configured.compareTo(RedisCoordinatorSettings.DEFAULT_TIMEOUT) >= 0) {
            return RedisCoordinatorSettings.DEFAULT_TIMEOUT;
        }
        return configured;
    }

    private static OwnConnection fromProperties(Binder binder, Duration timeout) {
        if (!anySet(binder)) {
            return new OwnConnection(RedisCoordinatorSettings.builder().timeout(timeout).build(),
                    "the defaults: neither distributed.redis.* nor spring.data.redis.* is set, and the application has "
                            + "no RedisConnectionFactory");
        }
        requireStandalone(binder);
        RedisCoordinatorSettings.Builder builder = RedisCoordinatorSettings.builder().timeout(timeout);
        String url = binder.bind("spring.data.redis.url", String.class).orElse(null);
        if (url != null && !url.isBlank()) {
            fromUrl(url, builder);
        }
        else {
            binder.bind("spring.data.redis.host", String.class).ifBound(builder::host);
            binder.bind("spring.data.redis.port", Integer.class).ifBound(builder::port);
            binder.bind("spring.data.redis.username", String.class).ifBound(builder::username);
            binder.bind("spring.data.redis.password", String.class).ifBound(builder::password);
            binder.bind("spring.data.redis.ssl.enabled", Boolean.class).ifBound(builder::ssl);
        }
        binder.bind("spring.data.redis.database", Integer.class).ifBound(builder::database);
        return new OwnConnection(builder.build(), "spring.data.redis.*");
    }

    /** {@code redis://[[user]:password@]host[:port][/database]}, {@code rediss://} for TLS, as Boot reads it. */
    private static void fromUrl(String url, RedisCoordinatorSettings.Builder builder) {
        URI uri;
        try {
            uri = new URI(url);
        }
        catch (Exception ex) {
            throw new InvalidConfigurationPropertyValueException("spring.data.redis.url", "(not shown)",
                    "not a redis:// or rediss:// URL");
        }
        if (!"redis".equals(uri.getScheme()) && !"rediss".equals(uri.getScheme())) {
            throw new InvalidConfigurationPropertyValueException("spring.data.redis.url", "(not shown)",
                    "not a redis:// or rediss:// URL");
        }
        builder.ssl("rediss".equals(uri.getScheme()));
        if (uri.getHost() != null) {
            builder.host(uri.getHost());
        }
        if (uri.getPort() > 0) {
            builder.port(uri.getPort());
        }
        String userInfo = uri.getUserInfo();
        if (userInfo != null) {
            int colon = userInfo.indexOf(':');
            if (colon < 0) {
                builder.password(userInfo);
            }
            else {
                if (colon > 0) {
                    builder.username(userInfo.substring(0, colon));
                }
                builder.password(userInfo.substring(colon + 1));
            }
        }
        String path = uri.getPath();
        if (path != null && path.length() > 1) {
            builder.database(Integer.parseInt(path.substring(1)));
        }
    }

    /** Loaded only when {@code spring-boot-data-redis} is present. */
    private static final class ConnectionDetailsReader {

        static @Nullable OwnConnection read(BeanFactory beanFactory, Duration timeout, boolean propertiesSet) {
            DataRedisConnectionDetails details = beanFactory.getBeanProvider(DataRedisConnectionDetails.class)
                .getIfUnique();
            if (details == null) {
                return null;
            }
            boolean fromProperties = details.getClass().getName().equals(PROPERTIES_DETAILS);
            if (fromProperties && !propertiesSet) {
                // Boot's defaults: say so rather than naming properties nobody set.
                return null;
            }
            String origin = fromProperties ? "spring.data.redis.* (through Boot's DataRedisConnectionDetails)"
                    : "the application's DataRedisConnectionDetails (" + details.getClass().getName() + ")";
            if (details.getSentinel() != null || details.getCluster() != null || details.getMasterReplica() != null) {
                throw new IllegalStateException(origin + " describes a Sentinel, Cluster or master/replica "
                        + "deployment, and the Redis coordinator's connection of its own reaches a standalone server "
                        + "only: let Boot create its LettuceConnectionFactory (it is then reused) or set "
                        + "distributed.redis.*");
            }
            DataRedisConnectionDetails.Standalone standalone = details.getStandalone();
            RedisCoordinatorSettings.Builder builder = RedisCoordinatorSettings.builder()
                .timeout(timeout)
                .ssl(details.getSslBundle() != null);
            if (standalone != null) {
                builder.host(standalone.getHost()).port(standalone.getPort()).database(standalone.getDatabase());
            }
            if (details.getUsername() != null) {
                builder.username(details.getUsername());
            }
            if (details.getPassword() != null) {
                builder.password(details.getPassword());
            }
            return new OwnConnection(builder.build(), origin);
        }
    }
}
