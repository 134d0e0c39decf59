package io.pivotpool.sample.chaos;

import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import io.pivotpool.sample.chaos.CapacityChecker.Sample;
import io.pivotpool.sample.chaos.Scenario.Promise;

/** The chaos test's report: one block per scenario, with what converged, the maxima seen, and what broke. */
final class ChaosReport {

    private ChaosReport() {
    }

    static String format(String title, List<String> parameters, boolean capacityShown, List<Scenario> scenarios,
            CapacityChecker checker, List<String> verdict) {
        StringBuilder report = new StringBuilder();
        report.append("=".repeat(100)).append('\n').append(title).append('\n');
        parameters.forEach((line) -> report.append("  ").append(line).append('\n'));
        report.append("  capacity fields at /actuator/pools/{name}: ")
            .append(capacityShown ? "shown (grant, target, demand, partitioned)"
                    : "absent (convergence is judged by active and maxSize)")
            .append('\n');
        for (Scenario scenario : scenarios) {
            report.append('\n').append(scenario.name()).append('\n');
            line(report, "plan", scenario.plan());
            scenario.findings().forEach((finding) -> line(report, "found", finding));
            List<Sample> samples = scenario.samples();
            double seconds = (scenario.endNanos() - scenario.startNanos()) / 1e9;
            if (samples.isEmpty()) {
                line(report, "samples", "none");
            }
            else {
                Sample max = samples.stream().max(Comparator.comparingInt(Sample::sumActive)).orElseThrow();
                int partnerMax = samples.stream().mapToInt(Sample::partnerPeak).max().orElse(0);
                int stale = samples.stream().mapToInt(Sample::staleReads).sum();
                double span = samples.stream().mapToLong(Sample::spanNanos).max().orElse(0) / 1e6;
                String grants = samples.stream()
                    .map(Sample::sumGrant)
                    .filter((sum) -> sum != null)
                    .max(Integer::compare)
                    .map((sum) -> "; max Σ grant " + sum)
                    .orElse("");
                line(report, "Σ in-use", String.format("max %d (bound then %d) at t=%.2fs: %s%s", max.sumActive(),
                        max.bound(), checker.seconds(max.atNanos()), max.describeActive(), grants));
                line(report, "partner", String.format("max %d calls in flight at once (exact)", partnerMax));
                double rate = samples.size() / Math.max(seconds, 0.001);
                line(report, "samples", String.format("%d in %.1f s (%.1f/s%s); %d stale reads (%d samples not "
                        + "judged); the instances' reads at most %.1f ms apart", samples.size(), seconds, rate,
                        (rate < 10) ? ", BELOW 10/s: the machine is overloaded" : "", stale,
                        scenario.unjudgedSamples(), span));
            }
            Map<String, Long> outcomes = scenario.outcomes();
            Map<String, Long> errors = scenario.errors();
            line(report, "borrowers", String.format("%d quotes, %d pool timeouts (503), %d failed on a killed or "
                    + "frozen instance (expected); errors: %s", outcomes.getOrDefault(LoadDriver.OK, 0L),
                    outcomes.getOrDefault(LoadDriver.POOL_TIMEOUT, 0L),
                    outcomes.getOrDefault(LoadDriver.INSTANCE_DOWN, 0L),
                    errors.isEmpty() ? "none" : errors.entrySet()
                        .stream()
                        .map((entry) -> entry.getValue() + " × " + entry.getKey())
                        .collect(Collectors.joining(", "))));
            scenario.errorExamples().stream().limit(3).forEach((example) -> line(report, "error", example));
            if (scenario.violationCount() == 0) {
                line(report, "violations", "none" + lone(scenario));
            }
            for (Promise promise : Promise.values()) {
                int count = scenario.violationCount(promise);
                if (count > 0) {
                    line(report, "BROKEN", promise.description() + ": " + count + " time(s)"
                            + ((promise == Promise.SUM_IN_USE) ? lone(scenario) : "") + "; the first:");
                    scenario.violations(promise).forEach((violation) -> line(report, "", violation));
                }
            }
        }
        report.append('\n');
        verdict.forEach((line) -> report.append(line).append('\n'));
        report.append("=".repeat(100)).append('\n');
        return report.toString();
    }

    private static String lone(Scenario scenario) {
        int lone = scenario.unconfirmedExcesses();
        return (lone == 0) ? ""
                : " (and " + lone + " lone sample(s) over the bound that the next sample did not confirm: read skew)";
    }

    private static void line(StringBuilder report, String label, String text) {
        report.append(String.format("    %-11s %s%n", label.isEmpty() ? "" : label + ":", text));
    }
}
