package io.pivotpool.benchmarks.redis;

import java.lang.management.ManagementFactory;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.pivotpool.coordinator.CoordinatorObserver;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.distributed.DistributedSettings;
import io.pivotpool.distributed.GlobalCapacity;
import io.pivotpool.distributed.LeadershipListener;
import io.pivotpool.distributed.internal.ObservedCoordinator;
import io.pivotpool.pool.Lease;
import io.pivotpool.pool.Overflow;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolException;
import io.pivotpool.pool.PoolSettings;
import io.pivotpool.pool.PoolSpec;
import io.pivotpool.redis.RedisCoordinator;
import io.pivotpool.redis.RedisCoordinatorSettings;
import io.pivotpool.testsupport.redis.RedisServer;

import org.springframework.data.redis.core.script.RedisScript;

/**
 * What the cluster-wide cap costs Redis and each instance as the cluster grows, and how fast the
 * cap follows demand. Not a JMH benchmark: a plain program, run from the benchmarks jar (see
 * BENCHMARKS.md, "Cluster-wide cap"):
 *
 * <pre>
 * java -cp pivot-pool-benchmarks/target/benchmarks.jar io.pivotpool.benchmarks.redis.CoordinationScaleProbe
 * </pre>
 *
 * <p><b>Scale</b> ({@code --sizes=3,10,30,100}): for each N a fresh {@code redis-server} and N
 * simulated instances in this JVM, each with its own {@link RedisCoordinator} (its own connection,
 * created as an application's is), wrapped in an {@link ObservedCoordinator} that counts every SPI
 * call, and its own {@link DistributedPoolManager} with one idle pool (local max-size 10) capped at
 * {@code global-max-size} 5·N; sync-interval 500 ms, leader-ttl 3 s, rebalance-interval 5 s. Each
 * instance reaches Redis through its own {@link ByteCountingProxy} route, which counts the bytes
 * each way exactly. After a warm-up longer than a rebalance interval, the probe measures for
 * {@code --measure-s} seconds: per instance, SPI calls and bytes per round (a round is one
 * heartbeat), followers (mean, max) and the leader apart; Redis's own counters ({@code INFO cpu},
 * {@code stats}, {@code commandstats}) over the same window and over the server's whole life. Nobody
 * reads a manager's {@code status()} during the window: a status read makes a follower list all
 * members in its next round, which is the endpoint's cost, not the round's.
 *
 * <p>Then, with the N instances still running, it times the request-capacity script alone (the one
 * call every instance makes every round whose work grows with N: it reads the pool's whole grant
 * hash), {@code EVAL}ed on the real grant hash (N grants) and on a hash of one grant.
 *
 * <p><b>Convergence</b> ({@code --moves=9}): three instances on one {@code redis-server}, G = 30,
 * local max-size 30, sync-interval 200 ms, rebalance-interval 1 s, leader-ttl 2 s. Forty borrower
 * threads hold an object for 5 ms each, all on one instance; then the load moves to the next one,
 * and the probe measures the time until the newly busy instance's limit (what its grant lets it
 * hold) and its objects in use reach 90 % of G − 2 (the others keep their minimum share of one
 * each), sampling every 2 ms. It also samples Σ in use over the three instances, which must never
 * exceed G.
 */
public final class CoordinationScaleProbe {

    private static final String POOL = "downstream";

    private CoordinationScaleProbe() {
    }

    public static void main(String[] args) throws Exception {
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
        Map<String, String> options = options(args);
        List<Integer> sizes = new ArrayList<>();
        for (String size : options.getOrDefault("sizes", "3,10,30,100").split(",")) {
            if (!size.isBlank()) {
                sizes.add(Integer.parseInt(size.trim()));
            }
        }
        int warmupSeconds = Integer.parseInt(options.getOrDefault("warmup-s", "8"));
        int measureSeconds = Integer.parseInt(options.getOrDefault("measure-s", "10"));
        int moves = Integer.parseInt(options.getOrDefault("moves", "9"));
        System.out.printf(Locale.ROOT, "# CoordinationScaleProbe: sizes %s, warm-up %d s, measure %d s, %d moves; "
                + "%d CPUs, %s %s%n", sizes, warmupSeconds, measureSeconds, moves,
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.vm.name"),
                System.getProperty("java.vm.version"));
        System.out.println("# load average at start: " + loadAverage());
        List<ScaleResult> results = new ArrayList<>();
        for (int n : sizes) {
            results.add(scale(n, warmupSeconds, measureSeconds));
            System.out.println("# load average after N = " + n + ": " + loadAverage());
        }
        if (!results.isEmpty()) {
            printScale(results);
        }
        if (moves > 0) {
            convergence(moves);
            System.out.println("# load average after convergence: " + loadAverage());
        }
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> options = new HashMap<>();
        for (String arg : args) {
            if (!arg.startsWith("--") || !arg.contains("=")) {
                throw new IllegalArgumentException("options are --name=value (--sizes=3,10 --warmup-s=8 --measure-s=10 "
                        + "--moves=9; --sizes= or --moves=0 skips a part), was " + arg);
            }
            options.put(arg.substring(2, arg.indexOf('=')), arg.substring(arg.indexOf('=') + 1));
        }
        return options;
    }

    // ---- scale ------------------------------------------------------------------------------

    private static ScaleResult scale(int n, int warmupSeconds, int measureSeconds) throws Exception {
        System.out.printf(Locale.ROOT, "%n# N = %d: starting redis-server and %d instances%n", n, n);
        int threadsBefore = Thread.activeCount();
        try (RedisServer server = RedisServer.start(); ByteCountingProxy proxy = new ByteCountingProxy();
                Info info = new Info(server.port())) {
            Map<String, Double> serverStart = info.read();
            DistributedSettings settings = DistributedSettings.builder()
                .enabled(true)
                .coordination(RedisCoordinator.NAME)
                .syncInterval(Duration.ofMillis(500))
                .leaderTtl(Duration.ofSeconds(3))
                .rebalanceInterval(Duration.ofSeconds(5))
                .build();
            List<Instance> instances = new ArrayList<>();
            try {
                for (int i = 0; i < n; i++) {
                    instances.add(Instance.create(i, proxy.open(server.port()), server.port(), settings, 10,
                            GlobalCapacity.of(5 * n), false));
                }
                // Spread the instances' rounds over one sync interval, as independently started
                // applications would be.
                long spacingNanos = settings.syncInterval().toNanos() / n;
                long startedAt = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    long due = startedAt + i * spacingNanos;
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        TimeUnit.NANOSECONDS.sleep(wait);
                    }
                    instances.get(i).manager.start();
                }
                System.out.printf(Locale.ROOT, "# N = %d: started in %.1f s, %d threads in this JVM (%d before); "
                        + "warm-up %d s%n", n, (System.nanoTime() - startedAt) / 1e9, Thread.activeCount(),
                        threadsBefore, warmupSeconds);
                TimeUnit.SECONDS.sleep(warmupSeconds);
                Instance leader = requireOneLeader(instances, "before the window");
                for (Instance instance : instances) {
                    if (instance.pool.maxSize() < 1) {
                        throw new IllegalStateException(instance + " holds no grant after the warm-up");
                    }
                }
                List<Snapshot> before = new ArrayList<>();
                Map<String, Double> windowStart = info.read();
                long windowStartNanos = System.nanoTime();
                instances.forEach(instance -> before.add(instance.snapshot()));
                TimeUnit.SECONDS.sleep(measureSeconds);
                List<Snapshot> after = new ArrayList<>();
                instances.forEach(instance -> after.add(instance.snapshot()));
                double windowSeconds = (System.nanoTime() - windowStartNanos) / 1e9;
                Map<String, Double> windowEnd = info.read();
                Instance leaderAfter = requireOneLeader(instances, "after the window");
                if (leaderAfter != leader) {
                    throw new IllegalStateException("leadership moved during the window: " + leader + " -> "
                            + leaderAfter);
                }
                ScaleResult result = new ScaleResult(n, windowSeconds);
                long leadershipEvents = 0;
                for (int i = 0; i < n; i++) {
                    Snapshot delta = after.get(i).minus(before.get(i));
                    leadershipEvents += delta.leadershipEvents;
                    if (delta.failures > 0) {
                        result.failures += delta.failures;
                    }
                    if (instances.get(i) == leader) {
                        result.leader = delta;
                    }
                    else {
                        result.followers.add(delta);
                    }
                }
                result.leadershipEvents = leadershipEvents;
                result.window = Info.delta(windowStart, windowEnd);
                result.scriptCost = requestCapacityScriptCost(info, n);
                result.threads = Thread.activeCount();
                result.heapMb = (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory()) >> 20;
                for (Instance instance : instances) {
                    instance.close();
                }
                instances.clear();
                result.life = Info.delta(serverStart, info.read());
                result.print();
                return result;
            }
            finally {
                for (Instance instance : instances) {
                    instance.close();
                }
            }
        }
    }

    /** The three keys of a grant ledger whose hash is {@code hash} (see RedisKeys.capacityLedger). */
    private static String[] ledger(String hash) {
        int at = hash.lastIndexOf("cap:");
        return new String[] { hash, hash.substring(0, at) + "capx:" + hash.substring(at + 4),
            hash.substring(0, at) + "capsum:" + hash.substring(at + 4) };
    }

    private static Instance requireOneLeader(List<Instance> instances, String when) {
        List<Instance> leaders = new ArrayList<>();
        for (Instance instance : instances) {
            if (instance.manager.isLeader()) {
                leaders.add(instance);
            }
        }
        if (leaders.size() != 1) {
            throw new IllegalStateException(leaders.size() + " leaders " + when + ": " + leaders);
        }
        return leaders.get(0);
    }

    /**
     * The request-capacity script's time inside Redis ({@code commandstats}), {@code EVAL}ed with
     * a request of 0 (which changes nobody's grant) on the pool's real grant hash and on a hash of
     * one grant: the difference is the part that grows with the number of grants.
     */
    private static double[] requestCapacityScriptCost(Info info, int n) throws Exception {
        Class<?> scripts = Class.forName("io.pivotpool.redis.RedisScripts");
        Field field = scripts.getDeclaredField("REQUEST_CAPACITY");
        field.setAccessible(true);
        String script = ((RedisScript<?>) field.get(null)).getScriptAsString();
        List<String> capacityKeys = info.commands.keys("*cap:" + POOL);
        if (capacityKeys.size() != 1) {
            throw new IllegalStateException("expected one grant hash, found " + capacityKeys);
        }
        String real = capacityKeys.get(0);
        String single = real + "-probe-single";
        String[] keys = { real, single };
        double[] usec = new double[2];
        double[] calls = new double[2];
        // A warm-up block each, then alternating blocks, so that neither key gets the quieter moments.
        for (int block = 0; block < 6; block++) {
            for (int k = 0; k < keys.length; k++) {
                Map<String, Double> before = info.read();
                for (int i = 0; i < 100; i++) {
                    info.commands.eval(script, ScriptOutputType.MULTI, ledger(keys[k]), "probe-eval", "0",
                            Integer.toString(5 * n), "60000");
                }
                Map<String, Double> delta = Info.delta(before, info.read());
                if (block > 0) {
                    usec[k] += delta.getOrDefault("cmdstat_eval.usec", 0.0);
                    calls[k] += delta.getOrDefault("cmdstat_eval.calls", 0.0);
                }
            }
        }
        for (String key : keys) {
            info.commands.hdel(key, "probe-eval");
        }
        double[] usecPerCall = { usec[0] / calls[0], usec[1] / calls[1] };
        info.commands.del(single);
        return usecPerCall;
    }

    private static void printScale(List<ScaleResult> results) {
        System.out.println();
        System.out.println("## Per instance and round (one round = one heartbeat; sync-interval 500 ms)");
        System.out.println();
        System.out.println("| N | follower calls/round (mean, max) | follower bytes to Redis/round (mean, max) "
                + "| follower bytes from Redis/round (mean, max) | follower KB/s from Redis (mean) "
                + "| leader calls/round | leader bytes to / from Redis per round | leader KB/s from Redis "
                + "| ms in calls per round: followers (mean, max) / leader |");
        System.out.println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (ScaleResult r : results) {
            Stat calls = Stat.of(r.followers, Snapshot::callsPerRound);
            Stat sent = Stat.of(r.followers, Snapshot::sentPerRound);
            Stat received = Stat.of(r.followers, Snapshot::receivedPerRound);
            Stat receivedRate = Stat.of(r.followers, s -> s.received / r.windowSeconds / 1000);
            Stat millis = Stat.of(r.followers, Snapshot::callMillisPerRound);
            System.out.printf(Locale.ROOT, "| %d | %.2f (%.2f) | %.0f (%.0f) | %.0f (%.0f) | %.2f | %.2f | %.0f / %.0f | %.2f "
                    + "| %.1f (%.1f) / %.1f |%n",
                    r.n, calls.mean, calls.max, sent.mean, sent.max, received.mean, received.max, receivedRate.mean,
                    r.leader.callsPerRound(), r.leader.sentPerRound(), r.leader.receivedPerRound(),
                    r.leader.received / r.windowSeconds / 1000, millis.mean, millis.max,
                    r.leader.callMillisPerRound());
        }
        System.out.println();
        System.out.println("## Redis over the window");
        System.out.println();
        System.out.println("| N | window s | rounds | Redis CPU (% of a core) | CPU µs per round | commands/s "
                + "| Redis commands per round (incl. inside scripts) | net in KB/s | net out KB/s | request-capacity script µs: N grants / 1 grant "
                + "| server life: CPU s over s | leadership events | failed calls | JVM threads |");
        System.out.println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (ScaleResult r : results) {
            long rounds = r.rounds();
            double cpu = r.window.getOrDefault("used_cpu_sys", 0.0) + r.window.getOrDefault("used_cpu_user", 0.0);
            double commands = r.window.getOrDefault("total_commands_processed", 0.0);
            double lifeCpu = r.life.getOrDefault("used_cpu_sys", 0.0) + r.life.getOrDefault("used_cpu_user", 0.0);
            System.out.printf(Locale.ROOT, "| %d | %.1f | %d | %.2f | %.1f | %.0f | %.2f | %.1f | %.1f | %.1f / %.1f "
                    + "| %.2f over %.0f | %d | %d | %d |%n",
                    r.n, r.windowSeconds, rounds, 100 * cpu / r.windowSeconds, 1e6 * cpu / rounds,
                    commands / r.windowSeconds, commands / rounds,
                    r.window.getOrDefault("total_net_input_bytes", 0.0) / r.windowSeconds / 1000,
                    r.window.getOrDefault("total_net_output_bytes", 0.0) / r.windowSeconds / 1000,
                    r.scriptCost[0], r.scriptCost[1], lifeCpu, r.life.getOrDefault("uptime_in_seconds", 0.0),
                    r.leadershipEvents, r.failures, r.threads);
        }
        System.out.println();
        System.out.println("## Calls per round by SPI operation");
        System.out.println();
        TreeSet<String> operations = new TreeSet<>();
        for (ScaleResult r : results) {
            operations.addAll(r.leader.calls.keySet());
            r.followers.forEach(f -> operations.addAll(f.calls.keySet()));
        }
        StringBuilder header = new StringBuilder("| N | who |");
        StringBuilder rule = new StringBuilder("|---:|---|");
        for (String operation : operations) {
            header.append(' ').append(operation).append(" |");
            rule.append("---:|");
        }
        System.out.println(header);
        System.out.println(rule);
        for (ScaleResult r : results) {
            StringBuilder follower = new StringBuilder("| " + r.n + " | followers (mean) |");
            StringBuilder leader = new StringBuilder("| " + r.n + " | leader |");
            for (String operation : operations) {
                double sum = 0;
                for (Snapshot f : r.followers) {
                    sum += (double) f.calls.getOrDefault(operation, 0L) / Math.max(1, f.rounds());
                }
                follower.append(String.format(Locale.ROOT, " %.2f |", sum / Math.max(1, r.followers.size())));
                leader.append(String.format(Locale.ROOT, " %.2f |",
                        (double) r.leader.calls.getOrDefault(operation, 0L) / Math.max(1, r.leader.rounds())));
            }
            System.out.println(follower);
            System.out.println(leader);
        }
    }

    // ---- convergence ------------------------------------------------------------------------

    private static void convergence(int moves) throws Exception {
        int cap = 30;
        int instancesCount = 3;
        int threshold = (int) Math.ceil(0.9 * (cap - (instancesCount - 1)));
        Duration rebalance = Duration.ofSeconds(1);
        System.out.printf(Locale.ROOT, "%n# Convergence: 3 instances, G = %d, local max-size %d, sync 200 ms, "
                + "rebalance %d ms; threshold %d (90%% of G - 2)%n", cap, cap, rebalance.toMillis(), threshold);
        DistributedSettings settings = DistributedSettings.builder()
            .enabled(true)
            .coordination(RedisCoordinator.NAME)
            .syncInterval(Duration.ofMillis(200))
            .leaderTtl(Duration.ofSeconds(2))
            .rebalanceInterval(rebalance)
            .build();
        List<double[]> limitTimes = new ArrayList<>();
        List<double[]> activeTimes = new ArrayList<>();
        List<String> rows = new ArrayList<>();
        int maxSum = 0;
        try (RedisServer server = RedisServer.start()) {
            List<Instance> instances = new ArrayList<>();
            Load load = null;
            try {
                for (int i = 0; i < instancesCount; i++) {
                    Instance instance = Instance.create(i, null, server.port(), settings, cap, GlobalCapacity.of(cap),
                            true);
                    instances.add(instance);
                    instance.manager.start();
                }
                load = new Load(instances, 40, 5);
                load.moveTo(0);
                waitForThreshold(instances.get(0), threshold, 20_000);
                TimeUnit.SECONDS.sleep(3);
                for (int move = 1; move <= moves; move++) {
                    int from = (move - 1) % instancesCount;
                    int to = move % instancesCount;
                    Instance target = instances.get(to);
                    String roles = role(instances.get(from)) + " -> " + role(target);
                    long t0 = System.nanoTime();
                    load.moveTo(to);
                    long limitAt = -1;
                    long activeAt = -1;
                    long deadline = t0 + TimeUnit.SECONDS.toNanos(20);
                    while ((limitAt < 0 || activeAt < 0) && System.nanoTime() < deadline) {
                        long now = System.nanoTime();
                        if (limitAt < 0 && target.pool.maxSize() >= threshold) {
                            limitAt = now;
                        }
                        if (activeAt < 0 && target.pool.stats().active() >= threshold) {
                            activeAt = now;
                        }
                        int sum = 0;
                        for (Instance instance : instances) {
                            sum += instance.pool.stats().active();
                        }
                        maxSum = Math.max(maxSum, sum);
                        TimeUnit.MILLISECONDS.sleep(2);
                    }
                    double limitSeconds = (limitAt < 0) ? Double.NaN : (limitAt - t0) / 1e9;
                    double activeSeconds = (activeAt < 0) ? Double.NaN : (activeAt - t0) / 1e9;
                    limitTimes.add(new double[] { limitSeconds });
                    activeTimes.add(new double[] { activeSeconds });
                    rows.add(String.format(Locale.ROOT, "| %d | %d -> %d | %s | %.2f | %.2f |", move, from, to, roles,
                            limitSeconds, activeSeconds));
                    System.out.println("# " + rows.get(rows.size() - 1));
                    // Settle: the old busy instance's peak window empties and the next move starts
                    // from a steady distribution, whatever the sampling loop's own timing.
                    long settleUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
                    while (System.nanoTime() < settleUntil) {
                        int sum = 0;
                        for (Instance instance : instances) {
                            sum += instance.pool.stats().active();
                        }
                        maxSum = Math.max(maxSum, sum);
                        TimeUnit.MILLISECONDS.sleep(2);
                    }
                }
            }
            finally {
                if (load != null) {
                    load.close();
                }
                for (Instance instance : instances) {
                    instance.close();
                }
            }
        }
        System.out.println();
        System.out.println("## Convergence after the load moves (seconds from the move; threshold "
                + threshold + " of G = " + cap + ")");
        System.out.println();
        System.out.println("| move | from -> to | roles | limit ≥ threshold (s) | in use ≥ threshold (s) |");
        System.out.println("|---:|---|---|---:|---:|");
        rows.forEach(System.out::println);
        System.out.println();
        double[] limits = limitTimes.stream().mapToDouble(t -> t[0]).sorted().toArray();
        double[] actives = activeTimes.stream().mapToDouble(t -> t[0]).sorted().toArray();
        System.out.printf(Locale.ROOT, "limit: min %.2f s, median %.2f s, max %.2f s; in use: min %.2f s, median %.2f s, "
                + "max %.2f s; target <= %.1f s; max sum in use %d (G = %d)%n", limits[0], median(limits),
                limits[limits.length - 1], actives[0], median(actives), actives[actives.length - 1],
                2 * rebalance.toMillis() / 1000.0, maxSum, cap);
        if (maxSum > cap) {
            System.out.println("!! the sum in use exceeded G");
        }
    }

    private static String role(Instance instance) {
        return instance.manager.isLeader() ? "leader" : "follower";
    }

    private static void waitForThreshold(Instance instance, int threshold, long timeoutMillis) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (instance.pool.maxSize() < threshold) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(instance + " never reached " + threshold + ": limit "
                        + instance.pool.maxSize());
            }
            TimeUnit.MILLISECONDS.sleep(10);
        }
    }

    private static double median(double[] sorted) {
        int n = sorted.length;
        return (n % 2 == 1) ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static String loadAverage() {
        return String.format(Locale.ROOT, "%.2f (1 min, getSystemLoadAverage)",
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }

    // ---- parts ------------------------------------------------------------------------------

    /** Borrowers that hold an object for a few ms each, all on one instance's pool at a time. */
    private static final class Load implements AutoCloseable {

        private final List<Instance> instances;

        private final List<Thread> threads = new ArrayList<>();

        private volatile int target = -1;

        private volatile boolean stopped;

        Load(List<Instance> instances, int borrowers, long holdMillis) {
            this.instances = instances;
            for (int i = 0; i < borrowers; i++) {
                Thread thread = new Thread(() -> run(holdMillis), "borrower-" + i);
                thread.setDaemon(true);
                thread.start();
                this.threads.add(thread);
            }
        }

        void moveTo(int index) {
            this.target = index;
        }

        private void run(long holdMillis) {
            while (!this.stopped) {
                int index = this.target;
                if (index < 0) {
                    sleep(1);
                    continue;
                }
                try (Lease<CoordinatedBorrowBenchmark.Client> lease = this.instances.get(index).pool
                    .borrow(Duration.ofMillis(100))) {
                    sleep(holdMillis);
                }
                catch (PoolException ex) {
                    // Timed out waiting at the instance's limit: try again (on whichever instance is busy now).
                }
            }
        }

        private static void sleep(long millis) {
            try {
                Thread.sleep(millis);
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void close() throws InterruptedException {
            this.stopped = true;
            for (Thread thread : this.threads) {
                thread.join(2000);
            }
        }
    }

    /** One simulated instance: its own connection, observed coordinator, manager and capped pool. */
    private static final class Instance implements AutoCloseable {

        final int index;

        final ByteCountingProxy.Route route;

        final RedisCoordinator redis;

        final Map<String, LongAdder> calls = new ConcurrentHashMap<>();

        final LongAdder failures = new LongAdder();

        final LongAdder callNanos = new LongAdder();

        final AtomicInteger leadershipEvents = new AtomicInteger();

        final DistributedPoolManager manager;

        final Pool<CoordinatedBorrowBenchmark.Client> pool;

        private Instance(int index, ByteCountingProxy.Route route, RedisCoordinator redis, DistributedSettings settings,
                int localMaxSize, GlobalCapacity capacity) {
            this.index = index;
            this.route = route;
            this.redis = redis;
            CoordinatorObserver observer = (operation, backend, nanos, success) -> {
                this.calls.computeIfAbsent(operation, name -> new LongAdder()).increment();
                this.callNanos.add(nanos);
                if (!success) {
                    this.failures.increment();
                }
            };
            ObservedCoordinator observed = new ObservedCoordinator(redis, observer);
            this.manager = new DistributedPoolManager(observed, settings,
                    DistributedPoolManager.localInstance(Map.of("probe", "instance-" + index)));
            this.manager.addLeadershipListener(new LeadershipListener() {
                @Override
                public void leadershipGranted(LeaderLease lease) {
                    Instance.this.leadershipEvents.incrementAndGet();
                }

                @Override
                public void leadershipRevoked(LeaderLease lease) {
                    Instance.this.leadershipEvents.incrementAndGet();
                }
            });
            this.pool = Pool.create(PoolSpec.of(POOL, () -> new CoordinatedBorrowBenchmark.Client(index)),
                    PoolSettings.builder().minIdle(0).maxSize(localMaxSize).overflow(Overflow.WAIT).build());
            this.manager.addPool(this.pool, capacity);
        }

        /** {@code route} null: straight to the server. */
        static Instance create(int index, ByteCountingProxy.Route route, int serverPort, DistributedSettings settings,
                int localMaxSize, GlobalCapacity capacity, boolean direct) {
            int port = (route != null && !direct) ? route.port() : serverPort;
            RedisCoordinator redis = RedisCoordinator.create(RedisCoordinatorSettings.builder()
                .host("127.0.0.1")
                .port(port)
                .namespace("probe")
                .build());
            return new Instance(index, route, redis, settings, localMaxSize, capacity);
        }

        Snapshot snapshot() {
            Map<String, Long> counts = new TreeMap<>();
            this.calls.forEach((operation, count) -> counts.put(operation, count.sum()));
            return new Snapshot(counts, (this.route != null) ? this.route.toServer.get() : 0,
                    (this.route != null) ? this.route.fromServer.get() : 0, this.failures.sum(),
                    this.leadershipEvents.get(), this.callNanos.sum());
        }

        @Override
        public void close() {
            this.pool.close();
            this.manager.close();
            this.redis.close();
        }

        @Override
        public String toString() {
            return "instance-" + this.index + " (" + this.manager.instanceId() + ")";
        }
    }

    /** Counters of one instance at one moment, or the difference of two. */
    private static final class Snapshot {

        final Map<String, Long> calls;

        final long sent;

        final long received;

        final long failures;

        final long leadershipEvents;

        final long callNanos;

        Snapshot(Map<String, Long> calls, long sent, long received, long failures, long leadershipEvents,
                long callNanos) {
            this.calls = calls;
            this.sent = sent;
            this.received = received;
            this.failures = failures;
            this.leadershipEvents = leadershipEvents;
            this.callNanos = callNanos;
        }

        Snapshot minus(Snapshot earlier) {
            Map<String, Long> delta = new TreeMap<>();
            this.calls.forEach((operation, count) -> {
                long difference = count - earlier.calls.getOrDefault(operation, 0L);
                if (difference != 0) {
                    delta.put(operation, difference);
                }
            });
            return new Snapshot(delta, this.sent - earlier.sent, this.received - earlier.received,
                    this.failures - earlier.failures, this.leadershipEvents - earlier.leadershipEvents,
                    this.callNanos - earlier.callNanos);
        }

        long rounds() {
            return this.calls.getOrDefault("heartbeat", 0L);
        }

        double callsPerRound() {
            long total = 0;
            for (long count : this.calls.values()) {
                total += count;
            }
            return (double) total / Math.max(1, rounds());
        }

        /** Milliseconds the round spent waiting for the coordinator (the sum of its calls' durations). */
        double callMillisPerRound() {
            return this.callNanos / 1e6 / Math.max(1, rounds());
        }

        double sentPerRound() {
            return (double) this.sent / Math.max(1, rounds());
        }

        double receivedPerRound() {
            return (double) this.received / Math.max(1, rounds());
        }
    }

    private static final class ScaleResult {

        final int n;

        final double windowSeconds;

        final List<Snapshot> followers = new ArrayList<>();

        Snapshot leader;

        long failures;

        long leadershipEvents;

        Map<String, Double> window;

        Map<String, Double> life;

        double[] scriptCost;

        int threads;

        long heapMb;

        ScaleResult(int n, double windowSeconds) {
            this.n = n;
            this.windowSeconds = windowSeconds;
        }

        long rounds() {
            long rounds = this.leader.rounds();
            for (Snapshot follower : this.followers) {
                rounds += follower.rounds();
            }
            return rounds;
        }

        void print() {
            Stat calls = Stat.of(this.followers, Snapshot::callsPerRound);
            Stat received = Stat.of(this.followers, Snapshot::receivedPerRound);
            System.out.printf(Locale.ROOT, "# N = %d: followers %.2f calls/round (max %.2f), %.0f B/round from Redis "
                    + "(max %.0f); leader %.2f calls/round, %.0f B/round from Redis; %d rounds; %d failed calls; "
                    + "%d threads, %d MB heap used%n", this.n, calls.mean, calls.max, received.mean, received.max,
                    this.leader.callsPerRound(), this.leader.receivedPerRound(), rounds(), this.failures, this.threads,
                    this.heapMb);
        }
    }

    private record Stat(double mean, double max) {

        static Stat of(List<Snapshot> snapshots, java.util.function.ToDoubleFunction<Snapshot> value) {
            if (snapshots.isEmpty()) {
                return new Stat(Double.NaN, Double.NaN);
            }
            double sum = 0;
            double max = Double.NEGATIVE_INFINITY;
            for (Snapshot snapshot : snapshots) {
                double v = value.applyAsDouble(snapshot);
                sum += v;
                max = Math.max(max, v);
            }
            return new Stat(sum / snapshots.size(), max);
        }
    }

    /** Redis's own counters, read on a connection of the probe's (not through any route). */
    private static final class Info implements AutoCloseable {

        private final RedisClient client;

        private final StatefulRedisConnection<String, String> connection;

        final RedisCommands<String, String> commands;

        Info(int port) {
            this.client = RedisClient.create(RedisURI.create("127.0.0.1", port));
            this.connection = this.client.connect();
            this.commands = this.connection.sync();
        }

        /** Numeric fields of INFO cpu, stats, server and commandstats ({@code cmdstat_x.calls}, {@code .usec}). */
        Map<String, Double> read() {
            Map<String, Double> values = new LinkedHashMap<>();
            for (String section : new String[] { "cpu", "stats", "server", "commandstats" }) {
                for (String line : this.commands.info(section).split("\r?\n")) {
                    int colon = line.indexOf(':');
                    if (line.startsWith("#") || colon < 0) {
                        continue;
                    }
                    String key = line.substring(0, colon);
                    String value = line.substring(colon + 1);
                    if (key.startsWith("cmdstat_")) {
                        for (String part : value.split(",")) {
                            String[] pair = part.split("=");
                            if (pair.length == 2 && (pair[0].equals("calls") || pair[0].equals("usec"))) {
                                values.put(key + "." + pair[0], Double.parseDouble(pair[1]));
                            }
                        }
                    }
                    else {
                        try {
                            values.put(key, Double.parseDouble(value));
                        }
                        catch (NumberFormatException ignored) {
                            // not a number
                        }
                    }
                }
            }
            return values;
        }

        static Map<String, Double> delta(Map<String, Double> before, Map<String, Double> after) {
            Map<String, Double> delta = new LinkedHashMap<>();
            after.forEach((key, value) -> delta.put(key, value - before.getOrDefault(key, 0.0)));
            return delta;
        }

        @Override
        public void close() {
            this.connection.close();
            this.client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
    }
}
