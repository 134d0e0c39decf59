package io.pivotpool.autoconfigure.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.pivotpool.autoconfigure.PivotPoolAutoConfiguration;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.pool.Pool;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;

/**
 * Auto-configuration of the {@code pivot.pool.*} and {@code pivot.coordinator.*} Micrometer meters;
 * switched off with {@code pivot.pool.metrics.enabled=false}. Ordered after Boot's metrics
 * auto-configurations, named as strings because they live in an optional module, so that the
 * {@link MeterRegistry} bean it requires is already defined.
 */
@AutoConfiguration(after = PivotPoolAutoConfiguration.class, afterName = {
        "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration" })
@ConditionalOnClass({ MeterRegistry.class, MeterBinder.class })
@ConditionalOnBean({ MeterRegistry.class, DistributedPoolManager.class })
@ConditionalOnProperty(prefix = "pivot.pool.metrics", name = "enabled", matchIfMissing = true)
public final class PivotPoolMetricsAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    PoolMeterBinder pivotPoolMeterBinder(ObjectProvider<Pool<?>> pools) {
        return new PoolMeterBinder(() -> pools.orderedStream().toList());
    }

    @Bean
    @ConditionalOnMissingBean
    CoordinatorMeterBinder pivotCoordinatorMeterBinder(DistributedPoolManager manager) {
        return new CoordinatorMeterBinder(manager);
    }

    /** Also a coordinator observer: the auto-configuration wraps the active coordinator with it. */
    @Bean
    @ConditionalOnMissingBean
    CoordinatorOperationTimer pivotCoordinatorOperationTimer() {
        return new CoordinatorOperationTimer();
    }
}
