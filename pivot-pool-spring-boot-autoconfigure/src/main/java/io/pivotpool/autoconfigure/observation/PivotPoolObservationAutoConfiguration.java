package io.pivotpool.autoconfigure.observation;

import io.micrometer.observation.ObservationRegistry;
import io.pivotpool.autoconfigure.PivotPoolAutoConfiguration;
import io.pivotpool.distributed.DistributedPoolManager;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * Auto-configuration of {@link CoordinatorObservations} when the application has an
 * {@link ObservationRegistry} (Boot's actuator provides one). Ordered after Boot's observation
 * auto-configuration, named as a string because it lives in an optional module, so that the
 * registry bean it requires is already defined.
 */
@AutoConfiguration(after = PivotPoolAutoConfiguration.class,
        afterName = "org.springframework.boot.micrometer.observation.autoconfigure.ObservationAutoConfiguration")
@ConditionalOnClass(ObservationRegistry.class)
@ConditionalOnBean({ ObservationRegistry.class, DistributedPoolManager.class })
public final class PivotPoolObservationAutoConfiguration {

    /** A coordinator observer: the auto-configuration wraps the active coordinator with it. */
    @Bean
    @ConditionalOnMissingBean
    CoordinatorObservations pivotCoordinatorObservations(ObservationRegistry registry) {
        return new CoordinatorObservations(registry);
    }
}
