package io.pivotpool.redis.autoconfigure;

import java.util.List;

import io.pivotpool.coordinator.CoordinatorProvider;
import io.pivotpool.distributed.DistributedSettings.InvalidSettingException;
import io.pivotpool.redis.RedisCoordinatorProvider;
import io.pivotpool.redis.RedisCoordinatorProvider.OwnConnection;
import io.pivotpool.redis.RedisCoordinatorSettings;

import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * Makes {@code distributed.coordination: redis} available when this module is on the class path:
 * contributes the {@link CoordinatorProvider} named {@code redis}, which Pivot Pool's
 * auto-configuration selects by name. Nothing connects to Redis unless that backend is selected.
 *
 * <p>Which connection the coordinator uses ({@link RedisCoordinatorProvider}):
 * <ol>
 * <li>any {@code distributed.redis.*} property set: a connection of its own, from those
 * properties (the unset ones keep their defaults);</li>
 * <li>none set, and the application has one {@link LettuceConnectionFactory} (Spring Boot's,
 * from {@code spring.data.redis.*}): that factory is reused, so the application configures Redis
 * once; the coordinator never closes it, and each of its operations waits at most 2 s (the default
 * of {@code distributed.redis.timeout}) or the factory's command timeout, whichever is shorter, so
 * that Lettuce's default of 60 s can hold up neither a sync round nor shutdown;</li>
 * <li>neither: a connection of its own to where the application's Redis is, as Boot would
 * connect to it ({@link ApplicationRedisConnection}): Boot's {@code DataRedisConnectionDetails}
 * (a Testcontainers {@code @ServiceConnection}, for instance) when {@code spring-boot-data-redis}
 * is present, else {@code spring.data.redis.*}, else {@code localhost:6379}.</li>
 * </ol>
 * The log line saying which connection the coordinator uses names the case and its origin.
 * An application factory on another driver (Jedis) is not reused, since blocking pops need
 * Lettuce: the selection then falls back with a warning that says to set
 * {@code distributed.redis.*}.
 */
@AutoConfiguration(beforeName = RedisCoordinatorAutoConfiguration.PIVOT_POOL_AUTO_CONFIGURATION,
        afterName = RedisCoordinatorAutoConfiguration.DATA_REDIS_AUTO_CONFIGURATION)
@ConditionalOnClass({ RedisConnectionFactory.class, LettuceConnectionFactory.class })
@ConditionalOnProperty(prefix = "pivot.pool", name = "enabled", matchIfMissing = true)
@EnableConfigurationProperties(RedisCoordinatorProperties.class)
public final class RedisCoordinatorAutoConfiguration {

    /** Pivot Pool's auto-configuration, which selects a provider by name; named, as this module does not need it. */
    static final String PIVOT_POOL_AUTO_CONFIGURATION = "io.pivotpool.autoconfigure.PivotPoolAutoConfiguration";

    /** Spring Boot's Redis auto-configuration, whose connection factory may be reused. */
    static final String DATA_REDIS_AUTO_CONFIGURATION = "org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration";

    /** Every key under {@code distributed.redis}; setting any one of them asks for an own connection. */
    private static final List<String> REDIS_PROPERTIES = List.of("host", "port", "username", "password", "database",
            "ssl", "timeout");

    @Bean
    @ConditionalOnMissingBean(name = "redisCoordinatorProvider")
    RedisCoordinatorProvider redisCoordinatorProvider(RedisCoordinatorProperties properties, Environment environment,
            ObjectProvider<RedisConnectionFactory> connectionFactories, BeanFactory beanFactory) {
        RedisCoordinatorSettings settings = settings(properties);
        if (anyRedisPropertySet(environment)) {
            return RedisCoordinatorProvider.of(new OwnConnection(settings, "distributed.redis.*"));
        }
        // Resolved when the backend is selected and creates a coordinator, never before.
        return RedisCoordinatorProvider.reusing(connectionFactories::getIfUnique, settings.timeout(),
                () -> ApplicationRedisConnection.resolve(beanFactory, environment));
    }

    /**
     * The connection settings from {@code distributed.redis.*} (the namespace is the selection's).
     *
     * @throws InvalidConfigurationPropertyValueException naming the first broken rule, never the password
     */
    static RedisCoordinatorSettings settings(RedisCoordinatorProperties properties) {
        // The rules are the builder's; only the names are mapped here.
        try {
            return RedisCoordinatorSettings.builder()
                .host(properties.getHost())
                .port(properties.getPort())
                .username(properties.getUsername())
                .password(properties.getPassword())
                .database(properties.getDatabase())
                .ssl(properties.isSsl())
                .timeout(properties.getTimeout())
                .build();
        }
        catch (InvalidSettingException ex) {
            throw new InvalidConfigurationPropertyValueException("distributed.redis." + ex.property(), ex.value(),
                    ex.getMessage());
        }
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
}
