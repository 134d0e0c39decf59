package io.pivotpool.distributed.simulation;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongFunction;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The deterministic simulation of the coordination protocol (TESTING.md): a fixed range of seeds,
 * the seeds of the bugs it found, and proof that it finds known bugs put back in (mutants).
 *
 * <p>{@code -Dsim.schedules=N} changes how many seeds the suite runs (default 10 000);
 * {@code -Dsim.seed=S} (with {@code -Dsim.drop=i,j} and {@code -Dsim.mutant=NAME} as a failure
 * report prints them) replays one schedule and prints its timeline.
 */
@Tag("slow")
class SimulationTests {

    /** Seeds 1..this in the normal suite. */
    private static final long SCHEDULES = Long.getLong("sim.schedules", 10_000);

    /** Seeds whose evictions may pick the leader key ({@link #anEvictedLeaderKeyNeverLetsTwoInstancesLead}). */
    private static final long EVICTION_SCHEDULES = Long.getLong("sim.evictionSchedules", 2_000);

    /** Seeds with the leader raising grants ({@link #everyScheduleKeepsEveryInvariantWhenTheLeaderRaisesGrants}). */
    private static final long RAISING_SCHEDULES = Long.getLong("sim.raisingSchedules", 10_000);

    /** How many seeds a mutant may take to be caught. */
    private static final long MUTANT_BUDGET = 5_000;

    /**
     * Seeds searched for the known gap after data loss: its window is narrow, and where it first
     * shows moves with the protocol's order of calls (seed 1,413 today; 2,301 in one version of a
     * leader's round in one call; 2,656 while a follower's round was one call but the leader still
     * rewrote every target), so more than the mutants'.
     */
    private static final long GAP_BUDGET = 5_000;

    @BeforeAll
    static void quietLogs() {
        Schedules.quietLogs();
    }

    @Test
    void everyScheduleKeepsEveryInvariant() throws Exception {
        long started = System.nanoTime();
        LongAdder reaped = new LongAdder();
        LongAdder reaping = new LongAdder();
        List<Simulation.Outcome> failures = runSeeds(1, SCHEDULES, seed -> {
            Simulation.Outcome outcome = Schedules.run(seed, null);
            reaped.add(outcome.grantsOfNonMembersReaped());
            reaping.add((outcome.grantsOfNonMembersReaped() > 0) ? 1 : 0);
            return outcome;
        });
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf(java.util.Locale.ROOT, "%d schedules of %d simulated seconds in %.1f s: %.0f schedules/s; "
                + "in %d of them a leader reaped grants of non-members (%d in all)%n", SCHEDULES,
                Schedules.HORIZON_NANOS / 1_000_000_000L, seconds, SCHEDULES / seconds, reaping.sum(), reaped.sum());
        assertThat(failures).as(() -> explain(failures, null)).isEmpty();
        // The reaping rule is proven only if the schedules exercise it: crashed and cut-off
        // holders leave grants behind that outlive their registrations.
        assertThat(reaping.sum()).as("schedules in which a leader reaped a grant of a non-member").isPositive();
    }

    /**
     * The same seeds with the leader raising grants to their targets, as it does on etcd
     * ({@code Coordinator#growGrants}): every invariant holds, and the schedules do raise grants.
     */
    @Test
    void everyScheduleKeepsEveryInvariantWhenTheLeaderRaisesGrants() throws Exception {
        LongAdder raised = new LongAdder();
        LongAdder raising = new LongAdder();
        List<Simulation.Outcome> failures = runSeeds(1, RAISING_SCHEDULES, seed -> {
            Simulation.Outcome outcome = Schedules.runRaising(seed, null);
            raised.add(outcome.grantsRaised());
            raising.add((outcome.grantsRaised() > 0) ? 1 : 0);
            return outcome;
        });
        System.out.printf(java.util.Locale.ROOT, "%d schedules with the leader raising grants: it raised grants in %d "
                + "of them (%d in all)%n", RAISING_SCHEDULES, raising.sum(), raised.sum());
        assertThat(failures).as(() -> explain(failures, null)).isEmpty();
        assertThat(raising.sum()).as("schedules in which the leader raised a grant").isGreaterThan(RAISING_SCHEDULES / 2);
    }

    /** A leader raising grants without minding the cap is caught: the test above can fail. */
    @Test
    void aLeaderRaisingGrantsBeyondTheCapIsCaught() {
        long caughtAt = -1;
        for (long seed = 1; seed <= MUTANT_BUDGET && caughtAt < 0; seed++) {
            Simulation.Outcome outcome = Schedules.runRaising(seed, SimulatedBackend.Mutant.RAISED_BEYOND_THE_CAP);
            if (outcome.broken() == Invariant.RECORDED_GRANTS_WITHIN_CAP) {
                caughtAt = seed;
                System.out.println("Mutant RAISED_BEYOND_THE_CAP caught by seed " + seed + ": " + outcome.detail());
            }
        }
        assertThat(caughtAt).as("raising beyond the cap breaks %s within %d seeds", Invariant.RECORDED_GRANTS_WITHIN_CAP,
                MUTANT_BUDGET).isPositive();
    }

    /**
     * Bugs the simulation found, each by the seed that first showed it: after the fix each keeps
     * every invariant (before it, each broke the one named).
     */
    @ParameterizedTest
    @ValueSource(longs = {
        // OBJECTS_WITHIN_BOUND: a partitioned share whose grant the backend forgot (data lost)
        // trusted what it kept while cut off as its grant again (CapacityShare.granted).
        9514, 3074,
        // LIVENESS: after two lossy fail-overs a deposed leader resumed its lower term; a follower
        // that had led in a higher one refused its targets for good (CapacityShare.acceptTarget).
        167254 })
    void foundBugsStayFixed(long seed) {
        Simulation.Outcome outcome = Schedules.run(seed, null);
        assertThat(outcome.failed()).as(() -> Schedules.explain(outcome, null)).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = { "NO_FENCE_AFTER_DATA_LOSS", "GRANTS_ALWAYS_RENEWED", "TOKENS_FROM_COUNTER_ONLY",
        "UNCHANGED_GRANTS_NEVER_REWRITTEN", "NON_MEMBER_GRANTS_REAPED_AT_ONCE" })
    void aMutantIsCaughtWithinItsBudget(String name) {
        SimulatedBackend.Mutant mutant = SimulatedBackend.Mutant.valueOf(name);
        Invariant expected = switch (mutant) {
            case NO_FENCE_AFTER_DATA_LOSS -> Invariant.ONE_TRUSTED_LEADER;
            case GRANTS_ALWAYS_RENEWED -> Invariant.OBJECTS_WITHIN_BOUND;
            case TOKENS_FROM_COUNTER_ONLY -> Invariant.TOKENS_INCREASE;
            case NO_LEADER_UNTIL -> Invariant.ONE_TRUSTED_LEADER;
            case UNCHANGED_GRANTS_NEVER_REWRITTEN -> Invariant.OBJECTS_WITHIN_BOUND;
            case NON_MEMBER_GRANTS_REAPED_AT_ONCE -> Invariant.OBJECTS_WITHIN_BOUND;
            case RAISED_BEYOND_THE_CAP -> Invariant.RECORDED_GRANTS_WITHIN_CAP;
        };
        long caughtAt = -1;
        for (long seed = 1; seed <= MUTANT_BUDGET && caughtAt < 0; seed++) {
            Simulation.Outcome outcome = Schedules.run(seed, mutant);
            if (outcome.broken() == expected) {
                caughtAt = seed;
                System.out.println("Mutant " + mutant + " caught by seed " + seed + " (" + seed + " schedules):\n"
                        + Schedules.explain(outcome, mutant));
            }
        }
        assertThat(caughtAt).as("mutant %s breaks %s within %d seeds", mutant, expected, MUTANT_BUDGET)
            .isPositive();
    }

    /**
     * Finding 1 of TESTING.md, not fixed yet: a newcomer's first grant after the backend forgot the
     * grants in use is trusted in full. The suite skips that window (documented there); this test
     * shows the gap is real, and fails once it is closed (then drop the skip).
     */
    @Test
    void aNewcomerAfterDataLossCanStillOvershootTheCap() {
        long found = -1;
        for (long seed = 1; seed <= GAP_BUDGET && found < 0; seed++) {
            Simulation.Outcome outcome = Schedules.runStrictAfterDataLoss(seed);
            if (outcome.broken() == Invariant.OBJECTS_WITHIN_BOUND) {
                found = seed;
                System.out.println("Known gap shown by seed " + seed + " with -Dsim.strictDataLoss=true:\n"
                        + outcome.detail());
            }
        }
        assertThat(found).as("the known gap after data loss shows within %d seeds", GAP_BUDGET).isPositive();
    }

    /**
     * Finding 2 of TESTING.md, fixed: a leader key evicted while the term counter stays (Redis with
     * an evicting maxmemory policy) no longer looks like "nobody leads". {@code leader-until}, a key
     * without expiry that a {@code volatile-*} policy never takes, says until when the last lease
     * may run, and no term begins before. The schedules here let evictions pick the leader key.
     */
    @Test
    void anEvictedLeaderKeyNeverLetsTwoInstancesLead() throws Exception {
        List<Simulation.Outcome> failures = runSeeds(1, EVICTION_SCHEDULES,
                seed -> Schedules.runEvictingLeaderKey(seed, null));
        assertThat(failures).as(() -> explain(failures, null)).isEmpty();
    }

    /** Without {@code leader-until}, the same schedules find two leaders: the test above can fail. */
    @Test
    void withoutLeaderUntilAnEvictedLeaderKeyLetsTwoInstancesLead() {
        long found = -1;
        for (long seed = 1; seed <= MUTANT_BUDGET && found < 0; seed++) {
            Simulation.Outcome outcome = Schedules.runEvictingLeaderKey(seed, SimulatedBackend.Mutant.NO_LEADER_UNTIL);
            if (outcome.broken() == Invariant.ONE_TRUSTED_LEADER) {
                found = seed;
                System.out.println("Without leader-until, leader key eviction breaks exclusivity in seed " + seed + ": "
                        + outcome.detail());
            }
        }
        assertThat(found).as("an evicted leader key lets two instances lead within %d seeds", MUTANT_BUDGET)
            .isPositive();
    }

    /** A seed is the whole schedule: run twice in one JVM (new objects, new identity hashes), it is the same. */
    @Test
    void aSeedReplaysExactly() {
        for (long seed = 1; seed <= 40; seed++) {
            List<String> first = Schedules.run(seed, null, Set.of(), true).timeline();
            List<String> second = Schedules.run(seed, null, Set.of(), true).timeline();
            assertThat(second).as("timeline of seed %d", seed).isEqualTo(first);
        }
    }

    /**
     * {@code -Dsim.seed=S}: replays one schedule and prints its timeline; without it, schedule 1,
     * so that the replay path with its timeline runs in every build.
     */
    @Test
    void replay() {
        long seed = Long.parseLong(System.getProperty("sim.seed", "1"));
        String mutantProperty = System.getProperty("sim.mutant");
        SimulatedBackend.Mutant mutant = (mutantProperty != null) ? SimulatedBackend.Mutant.valueOf(mutantProperty)
                : null;
        Set<Integer> dropped = new TreeSet<>();
        String drop = System.getProperty("sim.drop", "");
        if (!drop.isBlank()) {
            Arrays.stream(drop.split(",")).map(String::trim).map(Integer::valueOf).forEach(dropped::add);
        }
        Simulation.Outcome outcome = Schedules.run(seed, mutant, dropped, true);
        outcome.timeline().forEach(System.out::println);
        assertThat(outcome.failed()).as("schedule %d broke %s: %s", seed, outcome.broken(), outcome.detail())
            .isFalse();
    }

    static List<Simulation.Outcome> runSeeds(long first, long count, LongFunction<Simulation.Outcome> run)
            throws Exception {
        int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
        AtomicLong next = new AtomicLong(first);
        List<Simulation.Outcome> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                workers.add(pool.submit(() -> {
                    for (long seed = next.getAndIncrement(); seed < first + count; seed = next.getAndIncrement()) {
                        Simulation.Outcome outcome = run.apply(seed);
                        if (outcome.failed()) {
                            failures.add(outcome);
                        }
                    }
                }));
            }
            for (Future<?> worker : workers) {
                worker.get();
            }
        }
        finally {
            pool.shutdown();
        }
        failures.sort(java.util.Comparator.comparingLong(Simulation.Outcome::seed));
        return failures;
    }

    private static String explain(List<Simulation.Outcome> failures, SimulatedBackend.Mutant mutant) {
        StringBuilder text = new StringBuilder(failures.size() + " schedules failed");
        failures.forEach(failure -> text.append(' ').append(failure.seed()).append(':').append(failure.broken()));
        text.append('\n');
        failures.stream().limit(3).forEach(failure -> text.append(Schedules.explain(failure, mutant)).append('\n'));
        return text.toString();
    }
}
