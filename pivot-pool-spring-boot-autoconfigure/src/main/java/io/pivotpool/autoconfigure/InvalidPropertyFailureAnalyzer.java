package io.pivotpool.autoconfigure;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.core.Ordered;
import org.springframework.core.env.Environment;

/**
 * "APPLICATION FAILED TO START" for a Pivot Pool property that breaks a rule: the property, its
 * value and where it was set, the rule, and the fix. Ordered before Boot's analyzer of the same
 * exception type, which would print the rule but only "Review the value of the property" as the
 * action.
 */
class InvalidPropertyFailureAnalyzer extends AbstractFailureAnalyzer<InvalidPropertyException> implements Ordered {

    private final Environment environment;

    InvalidPropertyFailureAnalyzer(Environment environment) {
        this.environment = environment;
    }

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, InvalidPropertyException cause) {
        String origin = PropertyOrigins.describe(this.environment, cause.getName());
        String subject = (cause.getValue() != null)
                ? "Invalid value '" + cause.getValue() + "' for configuration property '" + cause.getName() + "'"
                        + origin
                : "Invalid configuration property '" + cause.getName() + "'" + origin;
        return new FailureAnalysis(subject + ":\n\n    " + cause.getReason(), cause.fix(), cause);
    }

    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE;
    }
}
