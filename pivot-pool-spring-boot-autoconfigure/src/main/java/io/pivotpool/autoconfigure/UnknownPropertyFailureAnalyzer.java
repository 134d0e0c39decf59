package io.pivotpool.autoconfigure;

import java.util.stream.Collectors;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * "APPLICATION FAILED TO START" for misspelled {@code pivot.pool.*} keys and for a map where a
 * text is expected: every such key, where it was set, and the nearest valid key.
 */
class UnknownPropertyFailureAnalyzer extends AbstractFailureAnalyzer<UnknownPropertyException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, UnknownPropertyException cause) {
        String keys = cause.problems()
            .stream()
            .map((problem) -> "    " + problem.describe())
            .collect(Collectors.joining("\n"));
        String fixes = cause.problems()
            .stream()
            .map((problem) -> "    " + problem.fix())
            .collect(Collectors.joining("\n"));
        return new FailureAnalysis("Pivot Pool does not know these configuration properties, so they would do "
                + "nothing:\n\n" + keys, "Fix each key:\n\n" + fixes, cause);
    }
}
