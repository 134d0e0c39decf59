package io.pivotpool.autoconfigure;

import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;

/**
 * A Pivot Pool property whose value breaks a rule, with the fix to print under "Action" (see
 * {@link InvalidPropertyFailureAnalyzer}). Still Boot's
 * {@link InvalidConfigurationPropertyValueException}, so that anything that knows that type
 * (tests, Boot's own analyzer as a fallback) keeps working.
 */
class InvalidPropertyException extends InvalidConfigurationPropertyValueException {

    private static final long serialVersionUID = 1L;

    private final String fix;

    /**
     * @param name the full property name
     * @param value its value, or {@code null} when it was not set
     * @param reason the broken rule
     * @param fix what to change, one or more sentences
     */
    InvalidPropertyException(String name, @Nullable Object value, @Nullable String reason, String fix) {
        super(name, value, reason);
        this.fix = fix;
    }

    String fix() {
        return this.fix;
    }
}
