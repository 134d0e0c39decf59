package io.pivotpool.etcd.autoconfigure;

import io.pivotpool.coordinator.CoordinatorProvider;
import io.pivotpool.etcd.EtcdCoordinator;
import io.pivotpool.etcd.EtcdCoordinatorProvider;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/**
 * Makes {@code distributed.coordination: etcd} available when {@code pivot-pool-etcd} is on the
 * class path: contributes the {@link CoordinatorProvider} named {@code etcd}, configured by
 * {@code distributed.etcd.*}, or by an {@link EtcdConnectionDetails} bean where one is declared.
 * Nothing connects to etcd unless that backend is selected. Listed in
 * this module's own {@code AutoConfiguration.imports}, so adding the dependency is the whole
 * install; ordered before the generic auto-configuration, which selects among the providers.
 */
@AutoConfiguration(beforeName = EtcdCoordinatorAutoConfiguration.PIVOT_POOL_AUTO_CONFIGURATION)
@ConditionalOnClass(EtcdCoordinator.class)
@ConditionalOnProperty(prefix = "pivot.pool", name = "enabled", matchIfMissing = true)
@EnableConfigurationProperties(EtcdProperties.class)
public final class EtcdCoordinatorAutoConfiguration {

    /** The generic auto-configuration, which selects the coordinator among the providers. */
    static final String PIVOT_POOL_AUTO_CONFIGURATION = "io.pivotpool.autoconfigure.PivotPoolAutoConfiguration";

    @Bean
    @ConditionalOnMissingBean(EtcdConnectionDetails.class)
    PropertiesEtcdConnectionDetails etcdConnectionDetails(EtcdProperties properties) {
        return new PropertiesEtcdConnectionDetails(properties);
    }

    @Bean
    @ConditionalOnMissingBean(name = "etcdCoordinatorProvider")
    CoordinatorProvider etcdCoordinatorProvider(EtcdProperties properties, EtcdConnectionDetails details) {
        // Checked at start-up, so that a bad value fails with the property's name rather than at selection.
        properties.toSettings(details, null);
        return new CoordinatorProvider() {

            @Override
            public String name() {
                return EtcdCoordinator.NAME;
            }

            @Override
            public EtcdCoordinator create(String namespace) {
                return EtcdCoordinatorProvider.of(properties.toSettings(details, namespace)).create(namespace);
            }

            @Override
            public String toString() {
                return "etcd coordinator provider (" + details + ", " + properties + ")";
            }
        };
    }
}
