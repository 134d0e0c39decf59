package io.pivotpool.autoconfigure.actuate;

import io.pivotpool.autoconfigure.PivotPoolAutoConfiguration;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.pool.Pool;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * Auto-configuration of the {@link PoolsEndpoint}: present only when the actuator is on the
 * class path and the endpoint is both accessible ({@code management.endpoint.pools.access}) and
 * exposed ({@code management.endpoints.web.exposure.include}).
 */
@AutoConfiguration(after = PivotPoolAutoConfiguration.class)
@ConditionalOnClass({ Endpoint.class, ConditionalOnAvailableEndpoint.class })
@ConditionalOnBean(DistributedPoolManager.class)
@ConditionalOnAvailableEndpoint(PoolsEndpoint.class)
public final class PoolsEndpointAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    PoolsEndpoint poolsEndpoint(DistributedPoolManager manager, ObjectProvider<Pool<?>> pools) {
        return new PoolsEndpoint(manager, () -> pools.orderedStream().toList());
    }
}
