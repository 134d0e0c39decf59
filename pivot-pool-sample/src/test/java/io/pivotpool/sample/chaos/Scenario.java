package io.pivotpool.sample.chaos;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.pivotpool.sample.chaos.CapacityChecker.Sample;

/**
 * One chaos scenario: its bound on Σ in-use, the samples taken while it ran, what broke, and what
 * the test found out (convergence times). Written by the checker's thread and the test's thread,
 * hence synchronized; read for the report after both are done with it.
 */
final class Scenario {

    private static final int MAX_RECORDED_VIOLATIONS = 3;

    /** The promises a scenario checks, in the order a failure names them. */
    enum Promise {

        SUM_IN_USE("Σ in-use within the bound"),

        PARTNER_IN_FLIGHT("the partner's calls in flight within the bound"),

        OBJECTS_RETURNED("every object back once the load stops"),

        ONE_LEADER("never two leaders at once"),

        HEALED("the cluster heals within its bound after a foreign record");

        private final String description;

        Promise(String description) {
            this.description = description;
        }

        String description() {
            return this.description;
        }
    }

    private final String name;

    private final String plan;

    private final int globalMaxSize;

    private final List<Sample> samples = new ArrayList<>();

    private final Map<Promise, List<String>> violations = new EnumMap<>(Promise.class);

    private final Map<Promise, Integer> violationCounts = new EnumMap<>(Promise.class);

    private final List<String> findings = new ArrayList<>();

    private final List<String> harnessProblems = new ArrayList<>();

    private long startNanos;

    private long endNanos;

    private int unconfirmedExcesses;

    private int unjudgedSamples;

    private FrozenHolding frozenHolding;

    private Map<String, Long> outcomesAtStart = Map.of();

    private Map<String, Long> outcomes = Map.of();

    private List<String> errorExamples = List.of();

    Scenario(String name, String plan, int globalMaxSize) {
        this.name = name;
        this.plan = plan;
        this.globalMaxSize = globalMaxSize;
    }

    String name() {
        return this.name;
    }

    String plan() {
        return this.plan;
    }

    int globalMaxSize() {
        return this.globalMaxSize;
    }

    synchronized void started(long nanos, Map<String, Long> outcomes) {
        this.startNanos = nanos;
        this.outcomesAtStart = outcomes;
    }

    synchronized void ended(long nanos, Map<String, Long> outcomes, List<LoadDriver.ErrorExample> errorExamples) {
        this.endNanos = nanos;
        Map<String, Long> during = new LinkedHashMap<>();
        outcomes.forEach((kind, count) -> {
            long delta = count - this.outcomesAtStart.getOrDefault(kind, 0L);
            if (delta > 0) {
                during.put(kind, delta);
            }
        });
        this.outcomes = during;
        this.errorExamples = errorExamples.stream()
            .filter((error) -> error.atNanos() >= this.startNanos && error.atNanos() <= nanos)
            .map(LoadDriver.ErrorExample::text)
            .toList();
    }

    synchronized long startNanos() {
        return this.startNanos;
    }

    synchronized long endNanos() {
        return this.endNanos;
    }

    /**
     * The documented exception to Σ ≤ G: an instance frozen by SIGSTOP keeps what it had borrowed
     * until it runs again and its borrowers finish, while the others may already share its grant.
     * From the freeze until {@link #endFrozenHoldingAt}, Σ may exceed G by its last sampled grant
     * before SIGSTOP (its last sampled active where no grant is shown), as the checker reads it.
     */
    synchronized void allowFrozenHolding(String instance, long fromNanos) {
        this.frozenHolding = new FrozenHolding(instance, -1, null, fromNanos, Long.MAX_VALUE);
    }

    /** The checker's first sample of the frozen instance: its reading from before SIGSTOP fixes the allowance. */
    synchronized void frozenHoldingRead(String instance, CapacityChecker.PoolReading lastBeforeFreeze) {
        FrozenHolding holding = this.frozenHolding;
        if (holding != null && holding.objects() < 0 && holding.instance().equals(instance)) {
            boolean granted = lastBeforeFreeze.grant() != null;
            this.frozenHolding = new FrozenHolding(instance,
                    granted ? lastBeforeFreeze.grant() : lastBeforeFreeze.active(), granted ? "grant" : "active",
                    holding.fromNanos(), holding.untilNanos());
        }
    }

    synchronized void endFrozenHoldingAt(long untilNanos) {
        FrozenHolding holding = this.frozenHolding;
        this.frozenHolding = new FrozenHolding(holding.instance(), holding.objects(), holding.what(),
                holding.fromNanos(), untilNanos);
    }

    /** What the frozen instance may hold beyond G ("8 (its grant)"), or null before the checker read it. */
    synchronized String frozenHolding() {
        FrozenHolding holding = this.frozenHolding;
        return (holding != null && holding.objects() >= 0) ? holding.objects() + " (its " + holding.what() + ")"
                : null;
    }

    /** The most objects the cluster may have in use at that moment. */
    synchronized int boundAt(long nanos) {
        FrozenHolding holding = this.frozenHolding;
        return (holding != null && holding.covers(nanos)) ? this.globalMaxSize + Math.max(0, holding.objects())
                : this.globalMaxSize;
    }

    synchronized String describeBoundAt(long nanos) {
        FrozenHolding holding = this.frozenHolding;
        if (holding != null && holding.covers(nanos)) {
            return "global-max-size " + this.globalMaxSize + " + " + Math.max(0, holding.objects())
                    + " held by the frozen " + holding.instance() + " (its last sampled " + holding.what()
                    + " before SIGSTOP)";
        }
        return "global-max-size " + this.globalMaxSize;
    }

    synchronized void add(Sample sample) {
        this.samples.add(sample);
    }

    synchronized void violation(Promise promise, String message) {
        this.violationCounts.merge(promise, 1, Integer::sum);
        List<String> first = this.violations.computeIfAbsent(promise, (key) -> new ArrayList<>());
        if (first.size() < MAX_RECORDED_VIOLATIONS) {
            first.add(message);
        }
    }

    synchronized void unconfirmedExcess() {
        this.unconfirmedExcesses++;
    }

    /** A sample with a stale read of a running instance: not held against the bound. */
    synchronized void unjudged() {
        this.unjudgedSamples++;
    }

    synchronized void finding(String text) {
        this.findings.add(text);
    }

    /** The scenario did not happen as planned (so it proved nothing): a failure of its own. */
    synchronized void harnessProblem(String text) {
        this.harnessProblems.add(text);
        this.findings.add("NOT AS PLANNED: " + text);
    }

    synchronized List<Sample> samples() {
        return List.copyOf(this.samples);
    }

    /** The first few violations of a promise. */
    synchronized List<String> violations(Promise promise) {
        return List.copyOf(this.violations.getOrDefault(promise, List.of()));
    }

    /** How many samples (or, for the partner, sampling periods) broke a promise. */
    synchronized int violationCount(Promise promise) {
        return this.violationCounts.getOrDefault(promise, 0);
    }

    synchronized int violationCount() {
        return this.violationCounts.values().stream().mapToInt(Integer::intValue).sum();
    }

    synchronized int unconfirmedExcesses() {
        return this.unconfirmedExcesses;
    }

    synchronized int unjudgedSamples() {
        return this.unjudgedSamples;
    }

    synchronized List<String> findings() {
        return List.copyOf(this.findings);
    }

    synchronized List<String> harnessProblems() {
        return List.copyOf(this.harnessProblems);
    }

    synchronized Map<String, Long> outcomes() {
        return this.outcomes;
    }

    synchronized List<String> errorExamples() {
        return this.errorExamples;
    }

    /** Borrower errors during this scenario, by kind. */
    synchronized Map<String, Long> errors() {
        Map<String, Long> errors = new LinkedHashMap<>();
        this.outcomes.forEach((kind, count) -> {
            if (LoadDriver.isError(kind)) {
                errors.put(kind, count);
            }
        });
        return errors;
    }

    /** {@code objects} is -1 until the checker has sampled the frozen instance. */
    private record FrozenHolding(String instance, int objects, String what, long fromNanos, long untilNanos) {

        boolean covers(long nanos) {
            return nanos >= this.fromNanos && nanos <= this.untilNanos;
        }
    }
}
