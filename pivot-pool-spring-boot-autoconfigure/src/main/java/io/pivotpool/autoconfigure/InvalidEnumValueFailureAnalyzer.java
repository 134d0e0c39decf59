package io.pivotpool.autoconfigure;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.core.Ordered;

/**
 * "APPLICATION FAILED TO START" for a Pivot Pool property that takes one of a few values
 * ({@code overflow}, {@code profile}) and got another: the value, where it was set, and the valid
 * values as they are written in {@code application.yml} ({@code wait}, not Boot's generic
 * {@code WAIT}). Other binding failures are left to Boot's analyzer.
 */
class InvalidEnumValueFailureAnalyzer extends AbstractFailureAnalyzer<BindException> implements Ordered {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, BindException cause) {
        String name = cause.getName().toString();
        Class<?> type = cause.getTarget().getType().resolve();
        if (!(name.startsWith("pivot.pool.") || name.startsWith("distributed.")) || type == null || !type.isEnum()) {
            return null;
        }
        String values = Arrays.stream(type.getEnumConstants())
            .map((constant) -> ((Enum<?>) constant).name().toLowerCase(Locale.ROOT).replace('_', '-'))
            .collect(Collectors.joining(", "));
        ConfigurationProperty property = cause.getProperty();
        String value = (property != null) ? String.valueOf(property.getValue()) : null;
        String origin = (property != null && property.getOrigin() != null) ? " (from " + property.getOrigin() + ")"
                : "";
        return new FailureAnalysis("Invalid value '" + value + "' for configuration property '" + name + "'" + origin
                + ": it must be one of " + values + ".", "Set " + name + " to one of " + values + ".", cause);
    }

    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE;
    }
}
