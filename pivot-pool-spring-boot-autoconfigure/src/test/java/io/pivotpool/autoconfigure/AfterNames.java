package io.pivotpool.autoconfigure;

import java.util.Arrays;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.util.ClassUtils;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An auto-configuration ordered after another by name (an optional module's class, named as a
 * string) silently loses that order when the class is renamed: the names must still exist.
 */
public final class AfterNames {

    private AfterNames() {
    }

    public static void assertTheyExist(Class<?> autoConfiguration) {
        String[] afterNames = autoConfiguration.getAnnotation(AutoConfiguration.class).afterName();
        assertThat(afterNames).isNotEmpty();
        assertThat(Arrays.stream(afterNames).filter((name) -> !ClassUtils.isPresent(name, null)))
            .as("auto-configurations named in afterName that no longer exist")
            .isEmpty();
    }
}
