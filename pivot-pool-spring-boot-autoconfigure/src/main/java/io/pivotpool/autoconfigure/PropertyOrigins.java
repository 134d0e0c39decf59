package io.pivotpool.autoconfigure;

import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.core.env.Environment;

/** Where a property was set, for the failure analyzers' descriptions. */
final class PropertyOrigins {

    private PropertyOrigins() {
    }

    /**
     * {@code " (from class path resource [application.yml] - 5:19)"}, or an empty string when the
     * property is not set or its origin is unknown.
     */
    static String describe(Environment environment, String name) {
        ConfigurationPropertyName property = ConfigurationPropertyName.ofIfValid(name);
        if (environment == null || property == null) {
            return "";
        }
        for (ConfigurationPropertySource source : ConfigurationPropertySources.get(environment)) {
            ConfigurationProperty found = source.getConfigurationProperty(property);
            if (found != null) {
                return (found.getOrigin() != null) ? " (from " + found.getOrigin() + ")" : "";
            }
        }
        return "";
    }
}
