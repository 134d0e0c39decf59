package io.pivotpool.autoconfigure;

import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.core.Ordered;

/**
 * "APPLICATION FAILED TO START" for a Pivot Pool property whose value cannot be read as its type
 * at all: the value, where it was set, and what the property takes, in the words of
 * {@code application.yml}. A property that takes one of a few values ({@code overflow},
 * {@code profile}) lists them as written there ({@code wait}, not Boot's generic {@code WAIT}); a
 * number says its range ({@code global-max-size=3000000000} would otherwise end in a bare
 * {@code NumberFormatException}); a duration gives examples. Other binding failures are left to
 * Boot's analyzer; values of the right type that break a rule are {@link InvalidPropertyException}s.
 */
class InvalidValueFailureAnalyzer extends AbstractFailureAnalyzer<BindException> implements Ordered {

    @Override
    protected @Nullable FailureAnalysis analyze(Throwable rootFailure, BindException cause) {
        String name = cause.getName().toString();
        Class<?> type = cause.getTarget().getType().resolve();
        if (!(name.startsWith("pivot.pool.") || name.startsWith("distributed.")) || type == null) {
            return null;
        }
        String takes = takes(type);
        if (takes == null) {
            return null;
        }
        ConfigurationProperty property = cause.getProperty();
        String value = (property != null) ? String.valueOf(property.getValue()) : null;
        String origin = (property != null && property.getOrigin() != null) ? " (from " + property.getOrigin() + ")"
                : "";
        return new FailureAnalysis("Invalid value '" + value + "' for configuration property '" + name + "'" + origin
                + ": it must be " + takes + ".", "Set " + name + " to " + takes + ".", cause);
    }

    /** What a property of {@code type} takes, or null for a type left to Boot. */
    private static @Nullable String takes(Class<?> type) {
        if (type.isEnum()) {
            return "one of " + Arrays.stream(type.getEnumConstants())
                .map((constant) -> ((Enum<?>) constant).name().toLowerCase(Locale.ROOT).replace('_', '-'))
                .collect(Collectors.joining(", "));
        }
        if (type == Integer.class || type == int.class) {
            return "a whole number from " + Integer.MIN_VALUE + " to " + Integer.MAX_VALUE
                    + " (the rules of the property narrow it further)";
        }
        if (type == Long.class || type == long.class) {
            return "a whole number from " + Long.MIN_VALUE + " to " + Long.MAX_VALUE;
        }
        if (type == Duration.class) {
            return "a duration such as 500ms, 2s, 1m or PT2S";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        return null;
    }

    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE;
    }
}
