package io.pivotpool.benchmarks;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

import io.etcd.jetcd.Client;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.distributed.DistributedSettings;
import io.pivotpool.distributed.GlobalCapacity;
import io.pivotpool.distributed.internal.ObservedCoordinator;
import io.pivotpool.etcd.EtcdCoordinator;
import io.pivotpool.etcd.EtcdCoordinatorSettings;
import io.pivotpool.pool.Lease;
import io.pivotpool.pool.Overflow;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolException;
import io.pivotpool.pool.PoolSettings;
import io.pivotpool.pool.PoolSpec;
import io.pivotpool.redis.RedisCoordinator;
import io.pivotpool.testsupport.etcd.EtcdServer;
import io.pivotpool.testsupport.redis.RedisServer;

import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceClientConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * What coordination costs a fleet of N instances on one backend server, N up to a thousand: the
 * question a team sharing one partner quota across hundreds of pods asks. Not a JMH benchmark: a
 * plain program, run from the benchmarks jar (see BENCHMARKS.md, "A thousand instances"):
 *
 * <pre>
 * java -Xss256k -cp pivot-pool-benchmarks/target/benchmarks.jar io.pivotpool.benchmarks.FleetScaleProbe \
 *     --backend=redis --sizes=10,100,1000 --sync-ms=500
 * </pre>
 *
 * <p>For each N: a fresh server ({@code redis-server} or a one-member etcd) and N instances in this
 * JVM, each a {@link DistributedPoolManager} with {@code --pools} capped pools (local max-size 10,
 * global-max-size 2·N each) over its own coordinator. The coordinators share one client (one
 * Lettuce connection factory, one jetcd client), as the pools and application code of one
 * application would; each is wrapped in an {@link ObservedCoordinator} that counts its calls and
 * times its rounds. Every instance's status is read once a second, as health probes and scrapes
 * do. After a warm-up the probe measures, over a window: the server's CPU (Redis {@code INFO cpu};
 * etcd {@code process_cpu_seconds_total}), its commands (Redis {@code commandstats}, which counts
 * the commands scripts run; etcd's gRPC calls and Raft proposals), its bytes each way (Redis
 * {@code INFO stats}; etcd's gRPC byte counters), the leader's round time (from the start of its
 * heartbeat to the end of its round's last call) and calls per round, followers' calls per
 * round, the JVM's threads and heap.
 *
 * <p>Then convergence: one pool's demand moves to a tenth of the instances (each wants 10, its
 * local maximum, while the others are idle): the time until every busy instance holds 10 objects,
 * with Σ objects of that pool alive over the fleet, counted at every creation, against G. And a
 * rolling deploy: a tenth of the instances stop and as many new ones start at once; the time until
 * every new one holds a grant, with Σ alive counted as before and leadership counted.
 *
 * <p>Simulating a thousand applications saturates this JVM (five threads and a round every sync
 * interval each, on two cores): the "rounds kept" column says how much of the nominal pace it
 * kept, and the leader's round time then measures the JVM more than the protocol. So
 * {@code --leader-only=true} times the leader's round alone: N − 1 members registered and their
 * demand reports written by one seeding client, then one real instance that leads and rebalances
 * every round.
 *
 * <p>{@code --connections=K} (Redis): the instances share K connections instead of one. One
 * connection multiplexes the calls of every instance, so Redis reads and answers them in batches,
 * which hides what a round trip costs it; {@code --connections=N} gives each instance its own, as
 * separate processes have.
 */
public final class FleetScaleProbe {

    private static final int LOCAL_MAX = 10;

    private FleetScaleProbe() {
    }

    public static void main(String[] args) throws Exception {
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "error");
        }
        Map<String, String> options = new HashMap<>();
        for (String arg : args) {
            if (!arg.startsWith("--") || !arg.contains("=")) {
                throw new IllegalArgumentException("options are --name=value (--backend=redis|etcd --sizes=10,100,1000 "
                        + "--pools=3 --sync-ms=500 --leader-ttl-ms=3000 --rebalance-ms=5000 --warmup-s=15 "
                        + "--measure-s=20 --converge=true --leader-only=false --connections=1), was " + arg);
            }
            options.put(arg.substring(2, arg.indexOf('=')), arg.substring(arg.indexOf('=') + 1));
        }
        Probe probe = new Probe(options);
        System.out.printf(Locale.ROOT, "# FleetScaleProbe: %s; %d CPUs, %s %s; load average %s%n", options,
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.vm.name"),
                System.getProperty("java.vm.version"), loadAverage());
        List<String> rows = new ArrayList<>();
        for (String size : probe.option("sizes", "10,100,1000").split(",")) {
            rows.add(probe.run(Integer.parseInt(size.trim())));
            System.out.println("# load average after N = " + size.trim() + ": " + loadAverage());
        }
        System.out.println();
        System.out.println(Boolean.parseBoolean(probe.option("leader-only", "false"))
                ? "| backend | N | sync | leader rounds | round p50 / p99 / max (ms) | calls/round | rebalances | "
                        + "server bytes in / out per round | failed calls |\n|---|---|---|---|---|---|---|---|---|"
                : Result.HEADER);
        rows.forEach(System.out::println);
    }

    private static String loadAverage() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim();
        }
        catch (IOException ex) {
            return "unknown";
        }
    }

    /** One run's settings and the server it runs against. */
    private static final class Probe {

        final Map<String, String> options;

        final String backend;

        final int pools;

        final DistributedSettings settings;

        Probe(Map<String, String> options) {
            this.options = options;
            this.backend = option("backend", "redis");
            this.pools = Integer.parseInt(option("pools", "3"));
            this.settings = DistributedSettings.builder()
                .enabled(true)
                .coordination(this.backend)
                .namespace("fleet")
                .syncInterval(Duration.ofMillis(Long.parseLong(option("sync-ms", "500"))))
                .leaderTtl(Duration.ofMillis(Long.parseLong(option("leader-ttl-ms", "3000"))))
                .rebalanceInterval(Duration.ofMillis(Long.parseLong(option("rebalance-ms", "5000"))))
                .build();
        }

        String option(String name, String fallback) {
            return this.options.getOrDefault(name, fallback);
        }

        String run(int n) throws Exception {
            System.out.printf(Locale.ROOT, "%n# %s, N = %d, %d capped pools each, sync %d ms, rebalance %d ms%n",
                    this.backend, n, this.pools, this.settings.syncInterval().toMillis(),
                    this.settings.rebalanceInterval().toMillis());
            try (Backend server = this.backend.equals("etcd") ? new EtcdBackend()
                    : new RedisBackend(Integer.parseInt(option("connections", "1")))) {
                if (Boolean.parseBoolean(option("leader-only", "false"))) {
                    return leaderOnly(server, n);
                }
                Fleet fleet = new Fleet(this, server, n);
                try {
                    return fleet.measure();
                }
                finally {
                    fleet.close();
                }
            }
        }

        /**
         * The leader's round alone, without N − 1 simulated instances competing for this JVM's cores:
         * N − 1 members registered (with realistic fields) and their demand reports written by one
         * seeding client, then one real instance that leads and rebalances every round (rebalance
         * interval = sync interval). Its round: heartbeat, seek, one listing of N members, one batched
         * read of 3·(N − 1) reports, one batched write of 3·(N − 1) targets, 3 grants.
         */
        String leaderOnly(Backend server, int n) throws Exception {
            Coordinator seeding = server.coordinator();
            seeding.connect();
            // The seeded members are never renewed, so they are written for the whole run; the
            // leader believes a registration of at most 4 times its own instance-ttl (Plausibility),
            // so it runs with an instance-ttl of a minute (which a leader's round does not depend on).
            Duration instanceTtl = Duration.ofMinutes(1);
            Duration longTtl = instanceTtl.multipliedBy(3);
            Map<String, byte[]> demands = new HashMap<>();
            for (int i = 1; i < n; i++) {
                String id = "member-" + String.format(Locale.ROOT, "%05d", i);
                seeding.register(new io.pivotpool.coordinator.InstanceInfo(id, "host-" + i, System.currentTimeMillis(),
                        Map.of("application", "fleet", "profile", "standard")), longTtl);
                for (int p = 0; p < this.pools; p++) {
                    // The report's form as CapacityRecords writes it; a wrong one would be warned about as garbage.
                    demands.put("pivot.capacity:pool-" + p + ":demand:" + id,
                            ("d1 " + (i % 7) + " 10 2").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                }
            }
            seeding.setAll(demands, longTtl);
            DistributedSettings everyRound = this.settings.toBuilder().rebalanceInterval(this.settings.syncInterval())
                .instanceTtl(instanceTtl).build();
            Instance leader = new Instance(0, server.coordinator(), everyRound, this.pools, n);
            try {
                long deadline = System.nanoTime() + 3 * everyRound.leaderTtl().toNanos();
                while (!leader.manager.isLeader()) {
                    if (System.nanoTime() - deadline > 0) {
                        throw new IllegalStateException("the instance did not lead");
                    }
                    TimeUnit.MILLISECONDS.sleep(20);
                }
                TimeUnit.MILLISECONDS.sleep(3 * everyRound.syncInterval().toMillis());
                // A leader that lists fewer members (the seeded ones refused as garbage) would time
                // a round of another size than the table says.
                int listed = leader.manager.status().memberCount();
                if (listed != n) {
                    throw new IllegalStateException("the leader lists " + listed + " members, not " + n);
                }
                long rebalancesBefore = leader.manager.status().rebalances();
                leader.resetCounts();
                Map<String, Double> before = server.metrics();
                long start = System.nanoTime();
                TimeUnit.SECONDS.sleep(Integer.parseInt(option("measure-s", "20")));
                double seconds = (System.nanoTime() - start) / 1e9;
                Map<String, Double> delta = Backend.delta(before, server.metrics());
                Result result = new Result(this.backend, n, this.settings.syncInterval().toMillis(), seconds);
                result.server = delta;
                result.leaderRounds = leader.rounds();
                long[] p = result.percentiles();
                System.out.print("# the leader's calls while measured:\n" + leader.leaderCallBreakdown(result.leaderRounds.size()));
                return String.format(Locale.ROOT,
                        "| %s | %d | %d ms | %d | %.1f / %.1f / %.1f | %.1f | %d | %.0f / %.0f | %d |", this.backend, n,
                        this.settings.syncInterval().toMillis(), result.leaderRounds.size(), p[0] / 1e6, p[1] / 1e6,
                        p[2] / 1e6, result.leaderCallsPerRound(), leader.manager.status().rebalances() - rebalancesBefore,
                        delta.getOrDefault("bytesIn", 0.0) / Math.max(1, result.leaderRounds.size()),
                        delta.getOrDefault("bytesOut", 0.0) / Math.max(1, result.leaderRounds.size()),
                        leader.failures.get());
            }
            finally {
                leader.close();
                seeding.close();
            }
        }
    }

    /** N instances sharing one client of one server. */
    private static final class Fleet {

        final Probe probe;

        final Backend server;

        final int n;

        final List<Instance> instances = new ArrayList<>();

        final AtomicBoolean reading = new AtomicBoolean(true);

        /** The last errors the status reads found, by message, and how often. */
        final Map<String, Long> errors = new java.util.concurrent.ConcurrentHashMap<>();

        final Thread statusReader;

        final AtomicInteger nextIndex = new AtomicInteger();

        Fleet(Probe probe, Backend server, int n) throws InterruptedException {
            this.probe = probe;
            this.server = server;
            this.n = n;
            long started = System.nanoTime();
            // Started over one sync interval, as independently started applications would be.
            long spacing = probe.settings.syncInterval().toNanos() / n;
            for (int i = 0; i < n; i++) {
                this.instances.add(newInstance());
                TimeUnit.NANOSECONDS.sleep(spacing);
            }
            System.out.printf(Locale.ROOT, "# %d instances started in %.1f s%n", n, (System.nanoTime() - started) / 1e9);
            this.statusReader = new Thread(this::readStatuses, "status-reader");
            this.statusReader.setDaemon(true);
            this.statusReader.start();
        }

        Instance newInstance() {
            return new Instance(this.nextIndex.getAndIncrement(), this.server.coordinator(), this.probe, this.n);
        }

        /** Every instance's status once a second, spread over the second, as probes and scrapes do. */
        private void readStatuses() {
            while (this.reading.get()) {
                long start = System.nanoTime();
                List<Instance> now;
                synchronized (this.instances) {
                    now = new ArrayList<>(this.instances);
                }
                for (Instance instance : now) {
                    String error = instance.manager.status().lastError();
                    if (error != null && (this.errors.size() < 64 || this.errors.containsKey(error))) {
                        // Kept by message (the id and numbers cut short), to tell why rounds fail at scale.
                        this.errors.merge(error.length() > 240 ? error.substring(0, 240) : error, 1L, Long::sum);
                    }
                }
                long rest = TimeUnit.SECONDS.toNanos(1) - (System.nanoTime() - start);
                if (rest > 0) {
                    try {
                        TimeUnit.NANOSECONDS.sleep(rest);
                    }
                    catch (InterruptedException ex) {
                        return;
                    }
                }
            }
        }

        String measure() throws Exception {
            int warmup = Integer.parseInt(this.probe.option("warmup-s", "15"));
            int window = Integer.parseInt(this.probe.option("measure-s", "20"));
            TimeUnit.SECONDS.sleep(warmup);
            Instance leader = oneLeader("after the warm-up");
            Map<String, Double> before = this.server.metrics();
            long startNanos = System.nanoTime();
            this.instances.forEach(Instance::resetCounts);
            TimeUnit.SECONDS.sleep(window);
            Map<String, Double> after = this.server.metrics();
            double seconds = (System.nanoTime() - startNanos) / 1e9;
            if (oneLeader("after the window") != leader) {
                throw new IllegalStateException("leadership moved during the window");
            }
            Result result = new Result(this.probe.backend, this.n, this.probe.settings.syncInterval().toMillis(), seconds);
            result.server = Backend.delta(before, after);
            result.leaderRounds = leader.rounds();
            long followerCalls = 0;
            long followerRounds = 0;
            long failures = 0;
            for (Instance instance : this.instances) {
                failures += instance.failures.get();
                result.rounds += instance.roundCount.get();
                if (instance != leader) {
                    followerCalls += instance.callsInRounds.get();
                    followerRounds += instance.roundCount.get();
                }
            }
            result.followerCallsPerRound = (double) followerCalls / Math.max(1, followerRounds);
            result.failures = failures;
            result.threads = Thread.activeCount();
            Runtime runtime = Runtime.getRuntime();
            result.heapMb = (runtime.totalMemory() - runtime.freeMemory()) >> 20;
            result.printDetail();
            this.errors.entrySet().stream().sorted((x, y) -> Long.compare(y.getValue(), x.getValue())).limit(5)
                .forEach(error -> System.out.printf(Locale.ROOT, "#   seen %d times in status reads: %s%n",
                        error.getValue(), error.getKey()));
            if (Boolean.parseBoolean(this.probe.option("converge", "true"))) {
                // Printed as each phase ends: at N = 1,000 on two cores a run can outlast a timeout before its table.
                Map<String, Double> phase = this.server.metrics();
                long phaseStart = System.nanoTime();
                result.convergence = converge();
                System.out.println("# convergence: " + result.convergence);
                phase = printPhase("convergence", phase, phaseStart);
                phaseStart = System.nanoTime();
                result.rollingDeploy = rollingDeploy();
                System.out.println("# rolling deploy: " + result.rollingDeploy);
                printPhase("rolling deploy", phase, phaseStart);
            }
            return result.row();
        }

        /**
         * Waits for exactly one instance to lead. Two instances that lead in one sample with
         * different terms are a broken promise, unless the sample took so long that one term may
         * have run out and the next begun while it ran (a saturated JVM): each sample is timed,
         * and such a sample is reported with its tokens and its duration.
         */
        Instance oneLeader(String when) throws InterruptedException {
            long deadline = System.nanoTime() + this.probe.settings.leaderTtl().toNanos() * 2;
            while (true) {
                long sampleStart = System.nanoTime();
                List<Instance> leaders = new ArrayList<>();
                List<String> terms = new ArrayList<>();
                for (int i = 0; i < this.instances.size(); i++) {
                    Instance instance = this.instances.get(i);
                    String name = "instance-" + i;
                    instance.manager.leadership().ifPresent(term -> {
                        leaders.add(instance);
                        terms.add(name + " term " + term.fencingToken());
                    });
                }
                long sampleMicros = (System.nanoTime() - sampleStart) / 1000;
                if (leaders.size() == 1) {
                    return leaders.get(0);
                }
                if (leaders.size() > 1) {
                    System.err.printf("# %d leaders %s in one sample of %d µs: %s%n", leaders.size(), when,
                            sampleMicros, terms);
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException(leaders.size() + " leaders " + when + " " + terms
                            + " (sample of " + sampleMicros + " µs)");
                }
                TimeUnit.MILLISECONDS.sleep(50);
            }
        }

        /**
         * What the server did during a phase that began at {@code startNanos} with the counters
         * {@code before}: its CPU, Raft proposals and the ledger's conflicts. Returns the counters now.
         */
        Map<String, Double> printPhase(String name, Map<String, Double> before, long startNanos) throws Exception {
            Map<String, Double> after = this.server.metrics();
            Map<String, Double> delta = Backend.delta(before, after);
            double seconds = (System.nanoTime() - startNanos) / 1e9;
            // Bytes out and transactions too: a stampede of reconciliations (each reading every grant
            // of a pool) shows in the bytes, a race for a version key in the transactions.
            System.out.printf(Locale.ROOT, "# %s, %.1f s: server CPU %.1f%% of a core, proposals %.0f, conflicts %.0f, "
                    + "transactions %.0f, ranges %.0f, MB out %.1f%n",
                    name, seconds, 100 * delta.getOrDefault("cpu", 0.0) / seconds, delta.getOrDefault("proposals", 0.0),
                    delta.getOrDefault("conflicts", 0.0), delta.getOrDefault("grpc.Txn", 0.0),
                    delta.getOrDefault("grpc.Range", 0.0), delta.getOrDefault("bytesOut", 0.0) / 1e6);
            return after;
        }

        /**
         * A tenth of the instances want 10 objects of the first pool; the rest stay idle. Returns
         * {@code "seconds (max Σ alive / G)"}, or what failed.
         */
        String converge() throws InterruptedException {
            int cap = 2 * this.n;
            List<Instance> busy = new ArrayList<>();
            for (int i = 0; i < this.n; i += 10) {
                busy.add(this.instances.get(i));
            }
            Alive.reset();
            long start = System.nanoTime();
            long limit = start + this.probe.settings.rebalanceInterval().toNanos() * 6;
            List<Lease<Object>> held = new ArrayList<>();
            // Only this method borrows from these pools: what it holds of each is what is in use
            // (cheaper than a pool's stats, which a thousand-instance JVM cannot spare every 50 ms).
            int[] holding = new int[busy.size()];
            try {
                while (true) {
                    boolean done = true;
                    for (int i = 0; i < busy.size(); i++) {
                        Pool<Object> pool = busy.get(i).pools.get(0);
                        // Take what the limit allows; a borrow turned away tells the instance's
                        // demand sampler that it wants more.
                        while (holding[i] < LOCAL_MAX) {
                            try {
                                held.add(pool.borrow(Duration.ofMillis(1)));
                                holding[i]++;
                            }
                            catch (PoolException ex) {
                                break;
                            }
                        }
                        done &= holding[i] >= LOCAL_MAX;
                    }
                    if (done) {
                        break;
                    }
                    if (System.nanoTime() - limit > 0) {
                        return "not converged in " + (limit - start) / 1_000_000_000 + " s (" + describe(busy) + ")";
                    }
                    TimeUnit.MILLISECONDS.sleep(50);
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                return String.format(Locale.ROOT, "%.1f s, max Σ %d/%d", seconds, Alive.most(), cap);
            }
            finally {
                Alive.reportIfAbove(cap);
                held.forEach(Lease::close);
            }
        }

        /** A tenth of the fleet stops and as many new instances start at once. */
        String rollingDeploy() throws InterruptedException {
            int cap = 2 * this.n;
            int moving = Math.max(1, this.n / 10);
            Alive.reset();
            long start = System.nanoTime();
            List<Instance> leaving = new ArrayList<>();
            synchronized (this.instances) {
                for (int i = 0; i < moving; i++) {
                    leaving.add(this.instances.remove(this.instances.size() - 1));
                }
            }
            List<Instance> joining = new ArrayList<>();
            // Closed side by side too, as a deploy stops its old processes: each close makes blocking
            // calls (releases, unregistration), a hundred of them one after the other took 30 s and more.
            java.util.concurrent.ExecutorService closers = java.util.concurrent.Executors.newFixedThreadPool(16);
            leaving.forEach(instance -> closers.execute(instance::close));
            closers.shutdown();
            // Started side by side, as a deploy starts its new processes: one after the other, a
            // hundred starts on a busy etcd take minutes, which would measure the probe, not the cluster.
            java.util.concurrent.ExecutorService starters = java.util.concurrent.Executors.newFixedThreadPool(16);
            try {
                List<java.util.concurrent.Future<Instance>> started = new ArrayList<>();
                for (int i = 0; i < moving; i++) {
                    started.add(starters.submit(this::newInstance));
                }
                for (java.util.concurrent.Future<Instance> instance : started) {
                    joining.add(instance.get());
                }
            }
            catch (java.util.concurrent.ExecutionException ex) {
                throw new IllegalStateException("an instance of the rolling deploy did not start", ex.getCause());
            }
            finally {
                starters.shutdown();
            }
            synchronized (this.instances) {
                this.instances.addAll(joining);
            }
            closers.awaitTermination(10, TimeUnit.MINUTES);
            System.out.printf(Locale.ROOT, "# rolling deploy: %d started and %d closed in %.1f s%n", moving, moving,
                    (System.nanoTime() - start) / 1e9);
            long limit = start + this.probe.settings.rebalanceInterval().toNanos() * 6;
            try {
                while (!joining.stream().allMatch(Instance::holdsEveryGrant)) {
                    if (System.nanoTime() - limit > 0) {
                        System.out.print(withoutGrant(joining));
                        return "not settled in " + (limit - start) / 1_000_000_000 + " s (" + describe(joining) + ")";
                    }
                    TimeUnit.MILLISECONDS.sleep(20);
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                oneLeader("after the rolling deploy");
                return String.format(Locale.ROOT, "%.1f s, max Σ %d/%d", seconds, Alive.most(), cap);
            }
            finally {
                Alive.reportIfAbove(cap);
            }
        }

        /**
         * For each pool, the instances among {@code some} that may hold none of it: what they were
         * granted and told, their last errors, and what the backend records of the pool's grants.
         */
        String withoutGrant(List<Instance> some) {
            StringBuilder out = new StringBuilder();
            for (int p = 0; p < this.probe.pools; p++) {
                String name = "pool-" + p;
                Map<String, Integer> byState = new java.util.TreeMap<>();
                Map<String, Integer> errors = new java.util.TreeMap<>();
                java.util.Set<String> ids = new java.util.HashSet<>();
                for (Instance instance : some) {
                    if (instance.pools.get(p).maxSize() >= 1) {
                        continue;
                    }
                    var status = instance.manager.status();
                    var capacity = status.pools().get(name);
                    ids.add(status.instanceId());
                    byState.merge(String.format(Locale.ROOT, "grant %d target %d demand %d%s", capacity.grant(),
                            capacity.target(), capacity.demand(), capacity.partitioned() ? " partitioned" : ""), 1,
                            Integer::sum);
                    if (status.lastError() != null) {
                        String error = status.lastError();
                        errors.merge(error.length() > 160 ? error.substring(0, 160) : error, 1, Integer::sum);
                    }
                }
                if (ids.isEmpty()) {
                    continue;
                }
                String recorded;
                try {
                    var view = this.server.coordinator().capacity(name);
                    long theirs = view.grants().entrySet().stream().filter(grant -> ids.contains(grant.getKey())).count();
                    recorded = String.format(Locale.ROOT, "%d grants recorded, Σ %d of %d; %d of theirs", view.grants().size(),
                            view.total(), 2 * this.n, theirs);
                    if (this.server instanceof EtcdBackend etcd) {
                        // The running sum and when it was reconciled, as the version key holds them.
                        var version = etcd.client.getKVClient()
                            .get(io.etcd.jetcd.ByteSequence.from("fleet/cap/" + name + "/v", StandardCharsets.UTF_8))
                            .get(5, TimeUnit.SECONDS);
                        recorded += version.getKvs().isEmpty() ? "; no version key" : "; version key "
                                + version.getKvs().get(0).getValue().toString(StandardCharsets.UTF_8) + " at "
                                + System.currentTimeMillis();
                    }
                }
                catch (Exception ex) {
                    recorded = "grants not read: " + ex;
                }
                out.append(String.format(Locale.ROOT, "# %s: %d new instances without a grant %s; %s; errors %s%n", name,
                        ids.size(), byState, recorded, errors));
            }
            return out.toString();
        }

        /** What the first pool of these instances holds and is told, for a report that did not settle. */
        String describe(List<Instance> some) {
            java.util.IntSummaryStatistics limits = new java.util.IntSummaryStatistics();
            java.util.IntSummaryStatistics targets = new java.util.IntSummaryStatistics();
            java.util.IntSummaryStatistics demands = new java.util.IntSummaryStatistics();
            for (Instance instance : some) {
                var capacity = instance.manager.status().pools().get("pool-0");
                limits.accept(capacity.limit());
                targets.accept(capacity.target());
                demands.accept(capacity.demand());
            }
            long rebalances = this.instances.stream().mapToLong(instance -> instance.manager.status().rebalances()).sum();
            // What the leaders planned for these instances tells a leader that never read their
            // demand from followers that never took its targets.
            StringBuilder leaders = new StringBuilder();
            for (Instance instance : this.instances) {
                var status = instance.manager.status();
                if (!status.isLeader()) {
                    continue;
                }
                java.util.IntSummaryStatistics planned = new java.util.IntSummaryStatistics();
                var distribution = status.pools().get("pool-0").distribution();
                for (Instance member : some) {
                    Integer target = distribution.get(member.manager.status().instanceId());
                    planned.accept((target != null) ? target : -1);
                }
                leaders.append(String.format(Locale.ROOT, "; leader %s (token %d, %d rebalances, planned %d..%d "
                        + "for them, %d entries, last error %s)", status.instanceId(), status.fencingToken(),
                        status.rebalances(), planned.getMin(), planned.getMax(), distribution.size(),
                        status.lastError()));
            }
            return String.format(Locale.ROOT, "limit %d..%d, target %d..%d, demand %d..%d; rebalances %d%s",
                    limits.getMin(), limits.getMax(), targets.getMin(), targets.getMax(), demands.getMin(),
                    demands.getMax(), rebalances, (leaders.length() > 0) ? leaders : "; no leader");
        }

        void close() {
            this.reading.set(false);
            this.statusReader.interrupt();
            List<Instance> all;
            synchronized (this.instances) {
                all = new ArrayList<>(this.instances);
                this.instances.clear();
            }
            // Each close makes blocking calls (releases, unregistration): a common pool of one
            // thread on two cores would close a thousand one after the other, for many minutes.
            java.util.concurrent.ExecutorService closers = java.util.concurrent.Executors.newFixedThreadPool(32);
            all.forEach(instance -> closers.execute(instance::close));
            closers.shutdown();
            try {
                closers.awaitTermination(10, TimeUnit.MINUTES);
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Samples Σ objects alive of the first pool over the fleet every 20 ms; fails loudly above the cap. */
    /**
     * Objects of the first pool alive over the whole fleet (leaving instances too), counted from
     * each creation until its destroy returned, and the most at any creation since {@link #reset}:
     * exact, where polling every pool's stats every 20 ms was neither exact nor cheap (at N = 1,000
     * it took 37% of this JVM's samples while demand moved, the phase it was measuring: round twelve).
     */
    private static final class Alive {

        static final AtomicInteger NOW = new AtomicInteger();

        static final AtomicInteger MOST = new AtomicInteger();

        private Alive() {
        }

        static Object created() {
            MOST.accumulateAndGet(NOW.incrementAndGet(), Math::max);
            return new Object();
        }

        static void destroyed(Object object) {
            NOW.decrementAndGet();
        }

        /** Starts a new watch: the most is what is alive now. */
        static void reset() {
            MOST.set(NOW.get());
        }

        /** The most alive since {@link #reset}. */
        static int most() {
            return MOST.get();
        }

        /** Says so when the most alive since {@link #reset} was above {@code cap}, whatever the phase's outcome. */
        static void reportIfAbove(int cap) {
            int most = MOST.get();
            if (most > cap) {
                System.out.println("# Σ alive " + most + " above the cap " + cap);
            }
        }
    }

    /** One simulated application: a manager, its capped pools, and counts of its coordinator calls. */
    private static final class Instance {

        final DistributedPoolManager manager;

        final List<Pool<Object>> pools = new ArrayList<>();

        final AtomicLong failures = new AtomicLong();

        final AtomicLong callsInRounds = new AtomicLong();

        final AtomicLong roundCount = new AtomicLong();

        /** Guards the round being timed, written by the instance's coordination thread. */
        private final ReentrantLock lock = new ReentrantLock();

        private long roundStart;

        private long roundEnd;

        private int roundCalls;

        private final List<long[]> leaderRounds = new ArrayList<>();

        /** The leader's calls by operation: count and nanoseconds, for the leader-only breakdown. */
        private final Map<String, long[]> leaderCalls = new java.util.TreeMap<>();

        Instance(int index, Coordinator coordinator, Probe probe, int n) {
            this(index, coordinator, probe.settings, probe.pools, n);
        }

        Instance(int index, Coordinator coordinator, DistributedSettings settings, int pools, int n) {
            ObservedCoordinator observed = new ObservedCoordinator(coordinator, this::observed);
            this.manager = new DistributedPoolManager(observed, settings,
                    DistributedPoolManager.localInstance(Map.of("probe", "instance-" + index)));
            for (int p = 0; p < pools; p++) {
                PoolSpec<Object> spec = (p == 0) ? PoolSpec.of("pool-0", Alive::created).withDestroy(Alive::destroyed)
                        : PoolSpec.of("pool-" + p, () -> new Object());
                this.pools.add(this.manager.createPool(spec,
                        PoolSettings.builder().minIdle(0).maxSize(LOCAL_MAX).overflow(Overflow.WAIT).build(),
                        GlobalCapacity.of(2 * n)));
            }
            this.manager.start();
        }

        private void observed(String operation, String backend, long nanos, boolean success) {
            long now = System.nanoTime();
            this.lock.lock();
            try {
                if (!success) {
                    this.failures.incrementAndGet();
                }
                // A round begins with its heartbeat, or is one call (a follower's, on a backend that does it in one).
                if (operation.equals("heartbeat") || operation.equals("round")) {
                    if (this.roundStart != 0) {
                        this.callsInRounds.addAndGet(this.roundCalls);
                        this.roundCount.incrementAndGet();
                        if (this.manager.isLeader()) {
                            this.leaderRounds.add(new long[] { this.roundEnd - this.roundStart, this.roundCalls });
                        }
                    }
                    this.roundStart = now - nanos;
                    this.roundCalls = 0;
                }
                this.roundCalls++;
                this.roundEnd = now;
                if (this.manager.isLeader()) {
                    long[] byOperation = this.leaderCalls.computeIfAbsent(operation, name -> new long[2]);
                    byOperation[0]++;
                    byOperation[1] += nanos;
                }
            }
            finally {
                this.lock.unlock();
            }
        }

        void resetCounts() {
            this.lock.lock();
            try {
                this.callsInRounds.set(0);
                this.roundCount.set(0);
                this.failures.set(0);
                this.leaderRounds.clear();
                this.leaderCalls.clear();
            }
            finally {
                this.lock.unlock();
            }
        }

        List<long[]> rounds() {
            this.lock.lock();
            try {
                return new ArrayList<>(this.leaderRounds);
            }
            finally {
                this.lock.unlock();
            }
        }

        /** Per operation: calls per leader round and mean milliseconds per call, one line each. */
        String leaderCallBreakdown(int rounds) {
            this.lock.lock();
            try {
                StringBuilder out = new StringBuilder();
                this.leaderCalls.forEach((operation, byOperation) -> out.append(String.format(Locale.ROOT,
                        "#   %-28s %5.2f calls/round, %6.2f ms each%n", operation,
                        byOperation[0] / (double) Math.max(1, rounds), byOperation[1] / 1e6 / Math.max(1, byOperation[0]))));
                return out.toString();
            }
            finally {
                this.lock.unlock();
            }
        }

        /** Whether every pool may hold an object: its limit is at most its grant, so it holds a grant too. */
        boolean holdsEveryGrant() {
            return this.pools.stream().allMatch(pool -> pool.maxSize() >= 1);
        }

        void close() {
            this.manager.close();
            this.pools.forEach(Pool::close);
        }
    }

    /** The server and the one client every instance's coordinator shares. */
    private interface Backend extends AutoCloseable {

        Coordinator coordinator();

        /** The server's counters: cpu seconds, commands, bytes in and out, and backend-specific ones. */
        Map<String, Double> metrics() throws Exception;

        @Override
        void close() throws Exception;

        static Map<String, Double> delta(Map<String, Double> before, Map<String, Double> after) {
            Map<String, Double> delta = new LinkedHashMap<>();
            after.forEach((key, value) -> delta.put(key, value - before.getOrDefault(key, 0.0)));
            return delta;
        }
    }

    private static final class RedisBackend implements Backend {

        final RedisServer server = RedisServer.start();

        final ClientResources resources = DefaultClientResources.builder().ioThreadPoolSize(2)
            .computationThreadPoolSize(2).build();

        /**
         * The connections the instances share, one each for {@code --connections=N}: one
         * connection multiplexes the calls of many instances, which lets Redis read and answer
         * them in batches that separate processes would not give it.
         */
        final List<LettuceConnectionFactory> factories = new ArrayList<>();

        final int connections;

        int handedOut;

        final RedisClient infoClient;

        final StatefulRedisConnection<String, String> info;

        RedisBackend(int connections) {
            this.connections = Math.max(1, connections);
            this.infoClient = RedisClient.create(RedisURI.create("127.0.0.1", this.server.port()));
            this.info = this.infoClient.connect();
        }

        private synchronized LettuceConnectionFactory factory() {
            int index = this.handedOut++ % this.connections;
            if (index == this.factories.size()) {
                LettuceConnectionFactory factory = new LettuceConnectionFactory(
                        new RedisStandaloneConfiguration("127.0.0.1", this.server.port()),
                        LettuceClientConfiguration.builder().clientResources(this.resources)
                            .commandTimeout(Duration.ofSeconds(2)).build());
                factory.afterPropertiesSet();
                factory.start();
                this.factories.add(factory);
            }
            return this.factories.get(index);
        }

        @Override
        public Coordinator coordinator() {
            return RedisCoordinator.create(factory(), "fleet", Duration.ofSeconds(2));
        }

        @Override
        public Map<String, Double> metrics() {
            Map<String, Double> values = new LinkedHashMap<>();
            double commands = 0;
            for (String line : this.info.sync().info("everything").split("\r?\n")) {
                int colon = line.indexOf(':');
                if (line.startsWith("#") || colon < 0) {
                    continue;
                }
                String key = line.substring(0, colon);
                String value = line.substring(colon + 1);
                if (key.startsWith("cmdstat_") && !key.equals("cmdstat_info")) {
                    for (String part : value.split(",")) {
                        if (part.startsWith("calls=")) {
                            commands += Double.parseDouble(part.substring(6));
                            values.put("calls:" + key.substring(8), Double.parseDouble(part.substring(6)));
                        }
                        else if (part.startsWith("usec=")) {
                            values.put("usec:" + key.substring(8), Double.parseDouble(part.substring(5)));
                        }
                    }
                }
                switch (key) {
                    case "used_cpu_sys", "used_cpu_user" -> values.merge("cpu", Double.parseDouble(value), Double::sum);
                    case "total_net_input_bytes" -> values.put("bytesIn", Double.parseDouble(value));
                    case "total_net_output_bytes" -> values.put("bytesOut", Double.parseDouble(value));
                    case "used_memory" -> values.put("memory", Double.parseDouble(value));
                    default -> {
                    }
                }
            }
            values.put("commands", commands);
            return values;
        }

        @Override
        public void close() {
            this.info.close();
            this.infoClient.shutdown();
            this.factories.forEach(LettuceConnectionFactory::destroy);
            this.resources.shutdown(0, 0, TimeUnit.MILLISECONDS);
            this.server.close();
        }
    }

    private static final class EtcdBackend implements Backend {

        final EtcdServer server = EtcdServer.start();

        final Client client;

        final HttpClient http = HttpClient.newHttpClient();

        EtcdBackend() {
            this.client = Client.builder().endpoints(this.server.member().clientUrl()).build();
        }

        final List<EtcdCoordinator> coordinators = new java.util.concurrent.CopyOnWriteArrayList<>();

        @Override
        public Coordinator coordinator() {
            EtcdCoordinator coordinator = EtcdCoordinator.create(this.client, EtcdCoordinatorSettings.builder()
                .endpoints(List.of(this.server.member().clientUrl()))
                .namespace("fleet")
                .timeout(Duration.ofSeconds(2))
                .build());
            this.coordinators.add(coordinator);
            return coordinator;
        }

        /** etcd's Prometheus counters: process CPU, gRPC calls handled, Raft proposals, gRPC bytes. */
        @Override
        public Map<String, Double> metrics() throws Exception {
            String text = this.http.send(HttpRequest.newBuilder(URI.create(this.server.member().clientUrl() + "/metrics"))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
            Map<String, Double> values = new LinkedHashMap<>();
            values.put("conflicts", (double) this.coordinators.stream().mapToLong(EtcdCoordinator::capacityConflicts).sum());
            for (String line : text.split("\n")) {
                if (line.startsWith("#") || line.isBlank()) {
                    continue;
                }
                String name = line.substring(0, line.indexOf(line.contains("{") ? '{' : ' '));
                double value = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                switch (name) {
                    case "process_cpu_seconds_total" -> values.put("cpu", value);
                    case "grpc_server_handled_total" -> {
                        values.merge("commands", value, Double::sum);
                        // By method as well (Range, Txn, Put, LeaseKeepAlive, ...), to see which grows.
                        int method = line.indexOf("grpc_method=\"");
                        if (method >= 0) {
                            int from = method + "grpc_method=\"".length();
                            values.merge("grpc." + line.substring(from, line.indexOf('"', from)), value, Double::sum);
                        }
                    }
                    case "etcd_network_client_grpc_received_bytes_total" -> values.put("bytesIn", value);
                    case "etcd_network_client_grpc_sent_bytes_total" -> values.put("bytesOut", value);
                    case "etcd_server_proposals_committed_total" -> values.put("proposals", value);
                    case "etcd_mvcc_db_total_size_in_bytes" -> values.put("memory", value);
                    default -> {
                    }
                }
            }
            return values;
        }

        @Override
        public void close() {
            this.client.close();
            this.server.close();
        }
    }

    /** One N's figures. */
    private static final class Result {

        static final String HEADER = "| backend | N | sync | rounds kept | server CPU (% of a core) | server µs per "
                + "instance-round | commands per instance-round | bytes in/out per instance-round | leader round p50 / p99 / "
                + "max (ms) | leader calls/round | follower calls/round | convergence | rolling deploy (N/10) | threads | "
                + "heap MB |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";

        final String backend;

        final int n;

        final long syncMillis;

        final double seconds;

        Map<String, Double> server;

        List<long[]> leaderRounds;

        double followerCallsPerRound;

        long failures;

        /** Rounds completed by all instances in the window: the pace the JVM really kept. */
        long rounds;

        int threads;

        long heapMb;

        String convergence = "-";

        String rollingDeploy = "-";

        Result(String backend, int n, long syncMillis, double seconds) {
            this.backend = backend;
            this.n = n;
            this.syncMillis = syncMillis;
            this.seconds = seconds;
        }

        double cpuPercent() {
            return 100 * this.server.getOrDefault("cpu", 0.0) / this.seconds;
        }

        long[] percentiles() {
            long[] walls = this.leaderRounds.stream().mapToLong(round -> round[0]).sorted().toArray();
            if (walls.length == 0) {
                return new long[] { -1, -1, -1 };
            }
            return new long[] { walls[walls.length / 2], walls[Math.min(walls.length - 1, (int) (walls.length * 0.99))],
                walls[walls.length - 1] };
        }

        double leaderCallsPerRound() {
            return this.leaderRounds.stream().mapToLong(round -> round[1]).average().orElse(0);
        }

        void printDetail() {
            Map<String, Double> totals = new LinkedHashMap<>();
            this.server.forEach((key, value) -> {
                if (!key.startsWith("usec:") && !key.startsWith("calls:")) {
                    totals.put(key, value);
                }
            });
            long[] p = percentiles();
            System.out.printf(Locale.ROOT, "# window %.1f s: server %s; rounds %d; leader rounds %d (p50 / p99 / max %.1f / %.1f / %.1f ms); follower calls per round %.2f; failed calls %d%n",
                    this.seconds, totals, this.rounds, this.leaderRounds.size(), p[0] / 1e6, p[1] / 1e6, p[2] / 1e6,
                    this.followerCallsPerRound, this.failures);
            this.server.entrySet().stream().filter(entry -> entry.getKey().startsWith("usec:"))
                .sorted((x, y) -> Double.compare(y.getValue(), x.getValue())).limit(12)
                .forEach(entry -> System.out.printf(Locale.ROOT, "#   %-24s %8.0f calls %9.0f µs in all, %6.2f µs per instance-round%n",
                        entry.getKey().substring(5), this.server.getOrDefault("calls:" + entry.getKey().substring(5), 0.0),
                        entry.getValue(), entry.getValue() / Math.max(1, this.rounds)));
        }

        String row() {
            long[] p = percentiles();
            double rounds = Math.max(1, this.rounds);
            double nominal = this.n * this.seconds * 1000.0 / this.syncMillis;
            return String.format(Locale.ROOT,
                    "| %s | %d | %d ms | %.0f%% | %.1f | %.1f | %.1f | %.0f / %.0f | %.1f / %.1f / %.1f | %.1f | %.2f | %s | %s | %d | %d |",
                    this.backend, this.n, this.syncMillis, 100 * rounds / nominal, cpuPercent(),
                    this.server.getOrDefault("cpu", 0.0) * 1e6 / rounds,
                    this.server.getOrDefault("commands", 0.0) / rounds,
                    this.server.getOrDefault("bytesIn", 0.0) / rounds,
                    this.server.getOrDefault("bytesOut", 0.0) / rounds, p[0] / 1e6, p[1] / 1e6, p[2] / 1e6,
                    leaderCallsPerRound(), this.followerCallsPerRound, this.convergence, this.rollingDeploy, this.threads,
                    this.heapMb)
                    + (this.failures > 0 ? " (" + this.failures + " failed calls)" : "")
                    + (this.server.containsKey("proposals")
                            ? String.format(Locale.ROOT, " proposals/s %.0f, ledger conflicts/s %.2f",
                                    this.server.get("proposals") / this.seconds,
                                    this.server.getOrDefault("conflicts", 0.0) / this.seconds)
                            : "");
        }
    }
}
