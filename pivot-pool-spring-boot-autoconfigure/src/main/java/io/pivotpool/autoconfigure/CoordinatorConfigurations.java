package io.pivotpool.autoconfigure;

import java.util.List;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.CoordinatorObserver;
import io.pivotpool.coordinator.CoordinatorProvider;
import io.pivotpool.distributed.DistributedSettings;
import io.pivotpool.distributed.internal.CoordinatorSelection;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The two ways to get a coordinator, imported in this order by {@link PivotPoolAutoConfiguration}:
 * a user's {@code Coordinator} bean wins; otherwise {@code distributed.coordination} picks a
 * {@link CoordinatorProvider} bean by name.
 */
abstract class CoordinatorConfigurations {

    private CoordinatorConfigurations() {
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnBean(Coordinator.class)
    static class SuppliedCoordinatorConfiguration {

        @Bean
        ManagedCoordinator pivotPoolManagedCoordinator(Coordinator coordinator, DistributedSettings settings,
                ObjectProvider<CoordinatorObserver> observers) {
            try {
                return ManagedCoordinator.supplied(CoordinatorSelection.use(coordinator, settings), observers);
            }
            catch (CoordinatorException ex) {
                throw new CoordinationUnavailableException(coordinator.name(),
                        CoordinationUnavailableException.Kind.SUPPLIED_FAILED, List.of(), ex);
            }
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnMissingBean(Coordinator.class)
    static class SelectedCoordinatorConfiguration {

        /**
         * @throws CoordinationUnavailableException when {@code fail-fast} is on and the requested
         *     backend cannot be used (the selection throws only then)
         */
        @Bean
        ManagedCoordinator pivotPoolManagedCoordinator(DistributedSettings settings,
                ObjectProvider<CoordinatorProvider> providers, ObjectProvider<CoordinatorObserver> observers) {
            List<CoordinatorProvider> all = providers.orderedStream().toList();
            try {
                return ManagedCoordinator.selected(CoordinatorSelection.select(settings, all), observers);
            }
            catch (CoordinatorException ex) {
                List<String> available = all.stream().map(CoordinatorProvider::name).distinct().sorted().toList();
                throw new CoordinationUnavailableException(settings.coordination(),
                        available.contains(settings.coordination()) ? CoordinationUnavailableException.Kind.FAILED
                                : CoordinationUnavailableException.Kind.MISSING,
                        available, ex);
            }
        }

        /**
         * The selected coordinator (timed, when metrics are on), for applications that also use its
         * queues and shared state. Closed by {@link ManagedCoordinator}, not here.
         */
        @Bean(destroyMethod = "")
        Coordinator pivotPoolCoordinator(ManagedCoordinator managed) {
            return managed.active().coordinator();
        }
    }
}
