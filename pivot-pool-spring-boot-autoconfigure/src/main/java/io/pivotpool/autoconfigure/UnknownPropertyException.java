package io.pivotpool.autoconfigure;

import java.util.List;
import java.util.stream.Collectors;

/**
 * {@code pivot.pool.*} keys that Pivot Pool does not know, or a value given as a map (or list)
 * where one text is expected, such as an unquoted {@code namespace: {orders}}: start-up stops
 * (see {@link UnknownPropertyFailureAnalyzer}) because a misspelled limit would otherwise do
 * nothing, silently.
 */
class UnknownPropertyException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient List<PropertyKeyCheck.Problem> problems;

    UnknownPropertyException(List<PropertyKeyCheck.Problem> problems) {
        super(problems.stream().map(PropertyKeyCheck.Problem::describe).collect(Collectors.joining("; ")));
        this.problems = List.copyOf(problems);
    }

    List<PropertyKeyCheck.Problem> problems() {
        return this.problems;
    }
}
