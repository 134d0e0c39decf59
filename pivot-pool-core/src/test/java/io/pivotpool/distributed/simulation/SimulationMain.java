package io.pivotpool.distributed.simulation;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs many schedules, or replays one, from the command line:
 *
 * <pre>
 * ./mvnw -q -o -pl pivot-pool-core test-compile exec:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=io.pivotpool.distributed.simulation.SimulationMain -Dexec.args="--schedules 1000000"
 * ... -Dexec.args="--seed 42"          (one schedule, its timeline printed; shrunk if it fails)
 * </pre>
 *
 * Options: {@code --schedules N} (default 10000), {@code --first S} (first seed, default 1),
 * {@code --threads T} (default: the processors), {@code --seed S}, {@code --events FILE} (writes
 * each seed's event count, one {@code seed count} line per seed in seed order: two runs whose
 * files differ were not reproducible). Prints schedules per second and every failure, shrunk, with
 * its timeline (at most five).
 */
public final class SimulationMain {

    private SimulationMain() {
    }

    public static void main(String[] args) throws Exception {
        long schedules = 10_000;
        long first = 1;
        int threads = Runtime.getRuntime().availableProcessors();
        Long seed = null;
        String eventsFile = null;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--schedules" -> schedules = Long.parseLong(args[i + 1]);
                case "--first" -> first = Long.parseLong(args[i + 1]);
                case "--threads" -> threads = Integer.parseInt(args[i + 1]);
                case "--seed" -> seed = Long.parseLong(args[i + 1]);
                case "--events" -> eventsFile = args[i + 1];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Schedules.quietLogs();
        if (seed != null) {
            Simulation.Outcome outcome = Schedules.run(seed, null);
            if (outcome.failed()) {
                System.out.println(Schedules.explain(outcome, null));
            }
            else {
                Schedules.run(seed, null, java.util.Set.of(), true).timeline().forEach(System.out::println);
                System.out.println("Schedule " + seed + " kept every invariant.");
            }
            return;
        }
        runMany(first, schedules, threads, eventsFile);
    }

    private static void runMany(long first, long schedules, int threads, String eventsFile) throws Exception {
        AtomicLong next = new AtomicLong(first);
        long end = first + schedules;
        AtomicLong events = new AtomicLong();
        java.util.Map<Long, Long> eventsBySeed = new java.util.concurrent.ConcurrentSkipListMap<>();
        List<Simulation.Outcome> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        long started = System.nanoTime();
        List<Future<?>> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            workers.add(pool.submit(() -> {
                for (long s = next.getAndIncrement(); s < end; s = next.getAndIncrement()) {
                    Simulation.Outcome outcome = Schedules.run(s, null);
                    events.addAndGet(outcome.events());
                    if (eventsFile != null) {
                        eventsBySeed.put(s, outcome.events());
                    }
                    if (outcome.failed()) {
                        failures.add(outcome);
                        System.out.println("seed " + s + " broke " + outcome.broken() + ": " + outcome.detail());
                    }
                    long done = s - first + 1;
                    if (done % 100_000 == 0) {
                        report(done, started, failures.size());
                    }
                }
            }));
        }
        for (Future<?> worker : workers) {
            worker.get();
        }
        pool.shutdown();
        if (eventsFile != null) {
            StringBuilder lines = new StringBuilder();
            eventsBySeed.forEach((s, count) -> lines.append(s).append(' ').append(count).append('\n'));
            java.nio.file.Files.writeString(java.nio.file.Path.of(eventsFile), lines);
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf(Locale.ROOT,
                "%d schedules of %d simulated seconds (seeds %d..%d) in %.1f s on %d threads: %.0f schedules/s, "
                        + "%.0f events/s, %d failed%n",
                schedules, Schedules.HORIZON_NANOS / 1_000_000_000L, first, end - 1, seconds, threads,
                schedules / seconds, events.get() / seconds, failures.size());
        failures.sort(java.util.Comparator.comparingLong(Simulation.Outcome::seed));
        for (Simulation.Outcome failure : failures.subList(0, Math.min(5, failures.size()))) {
            System.out.println(Schedules.explain(failure, null));
        }
        if (failures.size() > 5) {
            StringBuilder seeds = new StringBuilder();
            failures.forEach(failure -> seeds.append(' ').append(failure.seed()).append(':').append(failure.broken()));
            System.out.println("All failing seeds:" + seeds);
        }
    }

    private static void report(long done, long started, int failed) {
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf(Locale.ROOT, "... %d schedules in %.0f s (%.0f/s), %d failed%n", done, seconds,
                done / seconds, failed);
    }
}
