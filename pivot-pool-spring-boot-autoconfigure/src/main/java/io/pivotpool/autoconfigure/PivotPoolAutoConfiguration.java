package io.pivotpool.autoconfigure;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import io.pivotpool.autoconfigure.CoordinatorConfigurations.SelectedCoordinatorConfiguration;
import io.pivotpool.autoconfigure.CoordinatorConfigurations.SuppliedCoordinatorConfiguration;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorProvider;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.distributed.DistributedSettings;
import io.pivotpool.distributed.LeadershipListener;
import io.pivotpool.distributed.internal.Managers;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolSpec;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.ImportRuntimeHints;
import org.springframework.core.env.Environment;

/**
 * Auto-configuration of Pivot Pool: a {@link Pool} bean for every {@link PoolSpec} bean, the
 * {@link Coordinator} (a user's bean, or the {@link CoordinatorProvider} named by
 * {@code distributed.coordination}, falling back to the no-op one) and the
 * {@link DistributedPoolManager} that runs this instance's coordination.
 */
@AutoConfiguration
@ConditionalOnProperty(prefix = "pivot.pool", name = "enabled", matchIfMissing = true)
@EnableConfigurationProperties({ PivotPoolProperties.class, DistributedProperties.class })
@Import({ SuppliedCoordinatorConfiguration.class, SelectedCoordinatorConfiguration.class })
@ImportRuntimeHints(PivotPoolRuntimeHints.class)
public final class PivotPoolAutoConfiguration {

    /** The name of the {@link DistributedPoolManager} bean, which every pool bean depends on. */
    public static final String MANAGER_BEAN_NAME = "distributedPoolManager";

    /**
     * Static, as it is called before regular singletons: stops start-up on unknown
     * {@code pivot.pool.*} keys and warns of unknown {@code distributed.*} ones.
     */
    @Bean
    static PropertyKeyCheck pivotPoolPropertyKeyCheck(Environment environment) {
        return new PropertyKeyCheck(environment);
    }

    /**
     * Static, as it is called before regular singletons: it creates the {@link PoolSpec} beans and
     * registers a pool bean named after each.
     */
    @Bean
    static PoolBeanRegistrar pivotPoolBeanRegistrar(PivotPoolProperties properties) {
        return new PoolBeanRegistrar(properties);
    }

    @Bean
    @ConditionalOnMissingBean
    DistributedSettings pivotPoolDistributedSettings(DistributedProperties distributed, PivotPoolProperties pool) {
        return ConfiguredSettings.distributed(distributed, pool.getProfile());
    }

    /**
     * Closed on shutdown (after the pools, which depend on it): gives up leadership, gives back the
     * pools' grants and unregisters. Its leadership changes are published as {@link LeadershipEvent}s.
     */
    @Bean(MANAGER_BEAN_NAME)
    DistributedPoolManager distributedPoolManager(ManagedCoordinator coordinator, DistributedSettings settings,
            PivotPoolProperties properties, Environment environment, ApplicationEventPublisher events) {
        Map<String, String> metadata = new LinkedHashMap<>();
        String application = environment.getProperty("spring.application.name");
        if (application != null && !application.isBlank()) {
            metadata.put("application", application);
        }
        metadata.put("profile", properties.getProfile().name().toLowerCase(Locale.ROOT));
        DistributedPoolManager manager = Managers.create(coordinator.active(), settings,
                DistributedPoolManager.localInstance(metadata));
        manager.addLeadershipListener(new LeadershipListener() {
            @Override
            public void leadershipGranted(LeaderLease lease) {
                events.publishEvent(new LeadershipEvent.Granted(manager, lease));
            }

            @Override
            public void leadershipRevoked(LeaderLease lease) {
                events.publishEvent(new LeadershipEvent.Revoked(manager, lease));
            }
        });
        return manager;
    }

    @Bean
    DistributedPoolManagerLifecycle pivotPoolManagerLifecycle(DistributedPoolManager manager) {
        return new DistributedPoolManagerLifecycle(manager);
    }
}
