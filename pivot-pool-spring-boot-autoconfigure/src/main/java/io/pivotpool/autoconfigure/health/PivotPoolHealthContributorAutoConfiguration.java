package io.pivotpool.autoconfigure.health;

import io.pivotpool.autoconfigure.PivotPoolAutoConfiguration;
import io.pivotpool.autoconfigure.PivotPoolProperties;
import io.pivotpool.distributed.DistributedPoolManager;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

/**
 * Auto-configuration of the {@link CoordinatorHealthIndicator}, shown as {@code pivotPool} and
 * switched off with {@code management.health.pivot-pool.enabled=false}.
 */
@AutoConfiguration(after = PivotPoolAutoConfiguration.class)
@ConditionalOnClass({ HealthIndicator.class, ConditionalOnEnabledHealthIndicator.class })
@ConditionalOnBean(DistributedPoolManager.class)
@ConditionalOnEnabledHealthIndicator("pivot-pool")
public final class PivotPoolHealthContributorAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean(name = "pivotPoolHealthIndicator")
    CoordinatorHealthIndicator pivotPoolHealthIndicator(DistributedPoolManager manager,
            PivotPoolProperties properties) {
        return new CoordinatorHealthIndicator(manager, properties.getHealth().isDownWhenDisconnected());
    }
}
