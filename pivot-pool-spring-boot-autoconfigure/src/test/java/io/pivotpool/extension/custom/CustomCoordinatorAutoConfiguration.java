package io.pivotpool.extension.custom;

import io.pivotpool.coordinator.CoordinatorProvider;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;

/**
 * Step 2 of PivotPHP's recipe, the Spring way: the extension registers its coordinator by name
 * with a {@link CoordinatorProvider} bean, from an auto-configuration listed in the extension's
 * own {@code META-INF/spring/org.springframework.boot.autoconfigure.AutoConfiguration.imports}
 * (kept in {@code src/test/extension}, off the test class path unless a test adds it).
 */
@AutoConfiguration
@ConditionalOnClass(CustomCoordinator.class)
public class CustomCoordinatorAutoConfiguration {

    @Bean
    CoordinatorProvider customCoordinatorProvider(Environment environment) {
        boolean refuse = environment.getProperty("custom.refuse-connections", Boolean.class, false);
        return new CoordinatorProvider() {

            @Override
            public String name() {
                return "custom";
            }

            @Override
            public CustomCoordinator create(String namespace) {
                return new CustomCoordinator(namespace, refuse);
            }
        };
    }
}
