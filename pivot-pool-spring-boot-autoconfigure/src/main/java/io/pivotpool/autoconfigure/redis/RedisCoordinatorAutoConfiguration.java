package io.pivotpool.autoconfigure.redis;

import io.pivotpool.autoconfigure.DistributedProperties;
import io.pivotpool.autoconfigure.PivotPoolAutoConfiguration;
import io.pivotpool.coordinator.CoordinatorProvider;
import io.pivotpool.redis.RedisCoordinator;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * Makes {@code distributed.coordination: redis} available when {@code pivot-pool-redis} is on the
 * class path: contributes the {@link CoordinatorProvider} named {@code redis}. Nothing connects to
 * Redis unless that backend is selected.
 *
 * <p>Which connection the coordinator uses (see {@link AutoConfiguredRedisCoordinatorProvider}):
 * <ol>
 * <li>any {@code distributed.redis.*} property set: a connection of its own, from those
 * properties (the unset ones keep their defaults);</li>
 * <li>none set, and the application has one {@link LettuceConnectionFactory} (Spring Boot's,
 * from {@code spring.data.redis.*}): that factory is reused, so the application configures Redis
 * once; the coordinator never closes it, and each of its operations waits at most 2 s (the default
 * of {@code distributed.redis.timeout}) or the factory's command timeout, whichever is shorter, so
 * that Lettuce's default of 60 s can hold up neither a sync round nor shutdown;</li>
 * <li>neither: a connection of its own to {@code localhost:6379}.</li>
 * </ol>
 * An application factory on another driver (Jedis) is not reused, since blocking pops need
 * Lettuce: the selection then falls back with a warning that says to set
 * {@code distributed.redis.*}.
 */
@AutoConfiguration(before = PivotPoolAutoConfiguration.class,
        afterName = RedisCoordinatorAutoConfiguration.DATA_REDIS_AUTO_CONFIGURATION)
@ConditionalOnClass({ RedisCoordinator.class, RedisConnectionFactory.class, LettuceConnectionFactory.class })
@ConditionalOnProperty(prefix = "pivot.pool", name = "enabled", matchIfMissing = true)
@EnableConfigurationProperties(DistributedProperties.class)
public final class RedisCoordinatorAutoConfiguration {

    /** Spring Boot's Redis auto-configuration, whose connection factory may be reused. */
    static final String DATA_REDIS_AUTO_CONFIGURATION = "org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration";

    @Bean
    @ConditionalOnMissingBean(name = "redisCoordinatorProvider")
    CoordinatorProvider redisCoordinatorProvider(DistributedProperties properties, Environment environment,
            ObjectProvider<RedisConnectionFactory> connectionFactories) {
        return new AutoConfiguredRedisCoordinatorProvider(properties.getRedis(),
                AutoConfiguredRedisCoordinatorProvider.anyRedisPropertySet(environment), connectionFactories);
    }
}
