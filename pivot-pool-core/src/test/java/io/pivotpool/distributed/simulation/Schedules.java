package io.pivotpool.distributed.simulation;

import java.util.Set;
import java.util.TreeSet;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs schedules by seed, and explains a failing one: shrunk to the fewest faults that still break
 * the same invariant, then replayed with its timeline recorded up to the instant it broke (the
 * shortest failing prefix: the run stops there).
 */
final class Schedules {

    /** Simulated length of every schedule. */
    static final long HORIZON_NANOS = 60_000_000_000L;

    private Schedules() {
    }

    /**
     * The managers log every partition and leadership change; millions of schedules must not. Set
     * {@code -Dsim.log=true} to see them (with a timeline, for one seed).
     */
    static void quietLogs() {
        if (!Boolean.getBoolean("sim.log")) {
            ((Logger) LoggerFactory.getLogger("io.pivotpool")).setLevel(Level.OFF);
        }
    }

    static Simulation.Outcome run(long seed, SimulatedBackend.Mutant mutant) {
        return new Simulation(seed, mutant, Set.of(), false, HORIZON_NANOS).run();
    }

    static Simulation.Outcome run(long seed, SimulatedBackend.Mutant mutant, Set<Integer> dropped, boolean tracing) {
        return new Simulation(seed, mutant, dropped, tracing, HORIZON_NANOS).run();
    }

    /** As {@link #run(long, SimulatedBackend.Mutant, Set, boolean)}, raising grants as {@code like} did. */
    private static Simulation.Outcome rerun(Simulation.Outcome like, SimulatedBackend.Mutant mutant, Set<Integer> dropped,
            boolean tracing) {
        Simulation simulation = new Simulation(like.seed(), mutant, dropped, tracing, HORIZON_NANOS);
        return (like.raising() ? simulation.raisingGrants() : simulation).run();
    }

    /** Also checks the known gap after data loss (TESTING.md, finding 1). */
    static Simulation.Outcome runStrictAfterDataLoss(long seed) {
        return new Simulation(seed, null, Set.of(), false, HORIZON_NANOS).strictAfterDataLoss().run();
    }

    /** The leader raises grants to their targets, as on etcd. */
    static Simulation.Outcome runRaising(long seed, SimulatedBackend.Mutant mutant) {
        return new Simulation(seed, mutant, Set.of(), false, HORIZON_NANOS).raisingGrants().run();
    }

    /** Evictions may pick the leader key (TESTING.md, finding 2). */
    static Simulation.Outcome runEvictingLeaderKey(long seed, SimulatedBackend.Mutant mutant) {
        return new Simulation(seed, mutant, Set.of(), false, HORIZON_NANOS).evictingLeaderKey().run();
    }

    /** Shrinks a failure and returns its readable report. */
    static String explain(Simulation.Outcome failure, SimulatedBackend.Mutant mutant) {
        Set<Integer> dropped = new TreeSet<>();
        // Faults planned after the failure never happened: dropping them changes nothing before it.
        for (Simulation.Fault fault : failure.faults()) {
            if (fault.at() > failure.atNanos()) {
                dropped.add(fault.index());
            }
        }
        Simulation.Outcome shortest = rerun(failure, mutant, dropped, false);
        if (shortest.broken() != failure.broken()) {
            dropped.clear();
            shortest = failure;
        }
        for (Simulation.Fault fault : failure.faults()) {
            if (dropped.contains(fault.index())) {
                continue;
            }
            Set<Integer> fewer = new TreeSet<>(dropped);
            fewer.add(fault.index());
            Simulation.Outcome outcome = rerun(failure, mutant, fewer, false);
            if (outcome.broken() == failure.broken()) {
                dropped = fewer;
                shortest = outcome;
            }
        }
        Simulation.Outcome traced = rerun(failure, mutant, dropped, true);
        StringBuilder report = new StringBuilder();
        report.append("Schedule ").append(failure.seed()).append(" broke ").append(failure.broken()).append(" at ")
            .append(String.format(java.util.Locale.ROOT, "%.3f s", failure.atNanos() / 1e9)).append(": ")
            .append(failure.detail()).append('\n');
        report.append("Shrunk to ").append(failure.faults().size() - dropped.size()).append(" of ")
            .append(failure.faults().size()).append(" faults, failing at ")
            .append(String.format(java.util.Locale.ROOT, "%.3f s", shortest.atNanos() / 1e9)).append(": ")
            .append(shortest.detail()).append('\n');
        for (Simulation.Fault fault : failure.faults()) {
            if (!dropped.contains(fault.index())) {
                report.append("  kept: ").append(fault).append('\n');
            }
        }
        report.append("Replay: ./mvnw -q -o -pl pivot-pool-core test -Dtest='SimulationTests#replay' -Dsim.seed=")
            .append(failure.seed());
        if (!dropped.isEmpty()) {
            report.append(" -Dsim.drop=").append(String.join(",", dropped.stream().map(String::valueOf).toList()));
        }
        if (mutant != null) {
            report.append(" -Dsim.mutant=").append(mutant);
        }
        if (failure.raising()) {
            report.append(" -Dsim.raising=true");
        }
        report.append("\nTimeline of the shrunk schedule (").append(traced.failed() ? traced.broken() : "it passed when traced")
            .append("):\n");
        traced.timeline().forEach(line -> report.append(line).append('\n'));
        return report.toString();
    }
}
