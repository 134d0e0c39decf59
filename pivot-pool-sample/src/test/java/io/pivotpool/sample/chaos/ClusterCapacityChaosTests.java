package io.pivotpool.sample.chaos;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import io.pivotpool.sample.chaos.CapacityChecker.CoordinatorReading;
import io.pivotpool.sample.chaos.CapacityChecker.PoolReading;
import io.pivotpool.sample.chaos.CapacityChecker.Sample;
import io.pivotpool.sample.chaos.Scenario.Promise;
import io.pivotpool.sample.partner.PartnerSimulator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.opentest4j.TestAbortedException;

import static org.assertj.core.api.Assertions.fail;

/**
 * Issue 7's chaos test: three sample-application JVMs on one real {@code redis-server} share one
 * partner through {@code partner.url}, with {@code global-max-size} G on their pool, while HTTP
 * load moves between them, the leader is killed with SIGKILL, a follower is frozen with SIGSTOP
 * past its TTL and thawed, and Redis is killed and restarted empty on the same port. The same
 * scenarios run a second time on one real {@code etcd} (issue 11, {@link CoordinationBackend}):
 * leader-ttl and instance-ttl are 2 s there (etcd leases are whole seconds), and etcd is killed
 * and restarted on the same data directory, so its data survives. Then (issue 15) records written
 * straight to the server by no member, well formed and plausible, are planted under load one at a
 * time, and the cluster must heal from each within what docs/security.md says it may cost.
 *
 * <p>The promises checked, many times a second: Σ in-use (every instance's {@code active}) never
 * exceeds G, and neither does the partner's exact count of calls in flight, except that a frozen
 * instance keeps what it had borrowed (Σ ≤ G + its last sampled grant, or its last sampled
 * {@code active} where no grant is shown, until its borrowers have finished after SIGCONT);
 * borrowers see no error other than the pool's own timeout (503); never two instances lead at once
 * (judged from their own claims and fencing tokens); and when the load stops every object comes back. The report ({@code target/chaos-report.txt}, for etcd {@code target/chaos-report-etcd.txt};
 * also printed) gives per
 * scenario the time to converge, the maxima seen and the borrower outcomes; every sample is in
 * {@code target/chaos/samples.csv} and each instance's output in {@code target/chaos/*.log}
 * ({@code target/chaos-etcd/} for etcd).
 *
 * <p>Start-up aside, every scenario is short and every wait bounded; the whole test takes about
 * a minute and a half per backend on two cores. Run it alone with {@code ./mvnw -B -ntp -pl pivot-pool-sample
 * -am verify -Dtest=ClusterCapacityChaosTests -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Tag("slow")
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ClusterCapacityChaosTests {

    /** The pool under test, as named by the sample's PoolSpec. */
    private static final String POOL = "partner-clients";

    /** Instances running at once (the killed leader is replaced, so that (c) and (d) have three too). */
    private static final int INSTANCES = 3;

    /** Each instance's own limit: alone, one instance could take all of G. */
    private static final int MAX_SIZE = 8;

    /** G: the cluster-wide cap, smaller than Σ max-size (24), so that only the cap keeps Σ within it. */
    private static final int GLOBAL_MAX_SIZE = 8;

    /** P: an instance cut off from the server runs on this; INSTANCES × P ≤ G keeps an outage within G. */
    private static final int PARTITION_SIZE = 2;

    private static final Duration SYNC_INTERVAL = Duration.ofMillis(200);

    private static final Duration REBALANCE_INTERVAL = Duration.ofSeconds(1);

    /** How long a borrower waits for a client before the 503 that counts as the pool's own timeout. */
    private static final Duration BORROW_TIMEOUT = Duration.ofSeconds(1);

    /** Long enough that a handful of clients keep a pool busy without burning the two cores. */
    private static final Duration PARTNER_LATENCY = Duration.ofMillis(200);

    /** Above anything the instances could send even uncapped, so the partner never refuses: the test judges. */
    private static final int PARTNER_LIMIT = (INSTANCES + 1) * MAX_SIZE;

    /** Clients of a busy instance: more than max-size, so that borrowers queue and demand shows. */
    private static final int HEAVY = MAX_SIZE + 4;

    /** Clients of a quiet instance. */
    private static final int LIGHT = 1;

    private static final int SAMPLES_PER_SECOND = 20;

    private static final Duration POLL_TIMEOUT = Duration.ofMillis(250);

    private static final Duration COORDINATION_POLL_INTERVAL = Duration.ofMillis(200);

    /** Each load request's bound: a borrow timeout plus a partner call, with room for a loaded machine. */
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);

    /** Quotes each instance serves before the scenarios ({@link #warmUp}), and how long that may take. */
    private static final int WARM_UP_QUOTES = 3;

    private static final Duration WARM_UP_TIMEOUT = Duration.ofSeconds(60);

    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(120);

    /** Time for the leader to share G after a change: a few rebalance rounds. */
    private static final Duration SETTLE = REBALANCE_INTERVAL.multipliedBy(2);

    /** How long (a) keeps each load pattern. */
    private static final Duration PHASE = REBALANCE_INTERVAL.multipliedBy(4);

    /** The most any convergence is waited for. */
    private static final Duration CONVERGENCE_TIMEOUT = Duration.ofSeconds(15);

    /**
     * The longest freeze: the frozen instance's own partner call times out after 5 s (PartnerClient),
     * which would turn a freeze into a borrower error that proves nothing about the pool.
     */
    private static final Duration MAX_FREEZE = Duration.ofSeconds(4);

    /**
     * How long after SIGCONT the frozen instance may still hold what it held: its borrowers finish
     * their calls (the partner answered them during the freeze), it finds its grant's deadline
     * passed and falls back to partition-size, re-registers within two sync rounds and is granted
     * anew within one rebalance round. After that, Σ ≤ G again.
     */
    private static final Duration THAW_GRACE = SYNC_INTERVAL.multipliedBy(2).plus(REBALANCE_INTERVAL);

    private static final Path TARGET = Path.of("target");

    /** The sample's namespace, at its default ({@code distributed.namespace}). */
    private static final String NAMESPACE = "pivot:pools";

    /** How long (f) wants the cluster healthy before it counts as healed. */
    private static final Duration HEALED_FOR = Duration.ofSeconds(1);

    /**
     * What (f) allows beyond a foreign record's documented cost: the polls' own delay (200 ms) and
     * {@link #HEALED_FOR}'s start, on two cores shared by three JVMs, the server and this test.
     */
    private static final Duration HEAL_SLACK = Duration.ofSeconds(2);


    /** Every instance started, in the order they became ready. */
    private final List<SampleInstance> instances = new ArrayList<>();

    /** The scenarios run so far, for the report even when one of them could not finish. */
    private final List<Scenario> scenarios = new ArrayList<>();

    private final ExecutorService starter = Executors.newFixedThreadPool(INSTANCES, (runnable) -> {
        Thread thread = new Thread(runnable, "sample-instance-starter");
        thread.setDaemon(true);
        return thread;
    });

    private final long startNanos = System.nanoTime();

    /** The backend of this run, and what depends on it (set first thing in the test). */
    private CoordinationBackend backend;

    private Duration leaderTtl;

    private Duration instanceTtl;

    /** The server stays down past leader-ttl and the grants' lifetime, so that partitions are real. */
    private Duration outage;

    private Path logs;

    private Path reportFile;

    private CoordinationBackend.Server server;

    private PartnerSimulator partner;

    private CapacityChecker checker;

    private LoadDriver load;

    static {
        if (INSTANCES * PARTITION_SIZE > GLOBAL_MAX_SIZE) {
            throw new IllegalStateException("INSTANCES × PARTITION_SIZE must not exceed GLOBAL_MAX_SIZE: a server "
                    + "outage would then be allowed to exceed G, and (d) checks Σ ≤ G");
        }
    }

    @AfterEach
    void stopEverything() {
        this.starter.shutdownNow();
        if (this.load != null) {
            this.load.close();
        }
        if (this.checker != null) {
            this.checker.close();
        }
        // Instances still starting when a failure struck are killed by their starter (interrupted above).
        awaitTermination(this.starter);
        this.instances.forEach(SampleInstance::close);
        if (this.partner != null) {
            this.partner.close();
        }
        if (this.server != null) {
            this.server.close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(CoordinationBackend.class)
    void clusterShouldNeverHoldMoreThanGlobalMaxSizeWhileLoadMovesTheLeaderDiesAFollowerFreezesAndTheServerRestarts(
            CoordinationBackend backend) throws Exception {
        this.backend = backend;
        this.leaderTtl = backend.leaderTtl();
        this.instanceTtl = backend.instanceTtl();
        this.outage = this.leaderTtl.plusSeconds(2);
        String suffix = (backend == CoordinationBackend.REDIS) ? "" : "-" + backend.profile();
        this.logs = TARGET.resolve("chaos" + suffix);
        this.reportFile = TARGET.resolve("chaos-report" + suffix + ".txt");
        Throwable harnessFailure = null;
        try {
            startCluster();
            loadMovesFromOneInstanceToAnother();
            leaderIsKilled();
            followerIsFrozenPastItsTtlAndThawed();
            serverIsKilledAndRestarted();
            foreignRecordsArePlantedUnderLoad();
            loadStopsAndEveryObjectComesBack();
        }
        catch (TestAbortedException ex) {
            // Redis in a container cannot restart on its port: a skip with that reason, not a broken harness.
            throw ex;
        }
        catch (Throwable ex) {
            harnessFailure = ex;
        }
        finally {
            if (this.checker != null) {
                this.checker.close();
            }
        }
        List<String> brokenPromises = brokenPromises(this.scenarios);
        String report = report(this.scenarios, brokenPromises, harnessFailure);
        System.out.println(report);
        if (harnessFailure != null || !brokenPromises.isEmpty()) {
            printInstanceLogs();
        }
        if (harnessFailure != null) {
            throw new AssertionError("The chaos test could not run to its end: " + harnessFailure
                    + " (report: " + this.reportFile + ")", harnessFailure);
        }
        if (!brokenPromises.isEmpty()) {
            fail(brokenPromises.get(0) + ((brokenPromises.size() > 1)
                    ? "\nand " + (brokenPromises.size() - 1) + " more:\n  " + String.join("\n  ",
                            brokenPromises.subList(1, brokenPromises.size()))
                    : "") + "\n(report: " + this.reportFile + ")");
        }
    }

    private void startCluster() throws Exception {
        Files.createDirectories(this.logs);
        this.server = this.backend.start();
        this.partner = PartnerSimulator.start(0, "sample-app", "demo-secret-for-the-simulated-partner", PARTNER_LIMIT,
                PARTNER_LATENCY);
        this.checker = new CapacityChecker(this.partner, POOL, POLL_TIMEOUT, this.startNanos);
        this.load = new LoadDriver(HEAVY, REQUEST_TIMEOUT, this.startNanos);
        List<Future<SampleInstance>> starting = new ArrayList<>();
        for (int index = 0; index < INSTANCES; index++) {
            String name = String.valueOf((char) ('A' + index));
            starting.add(this.starter.submit(() -> startInstance(name)));
        }
        for (Future<SampleInstance> instance : starting) {
            instance.get(STARTUP_TIMEOUT.toSeconds() + 30, TimeUnit.SECONDS);
        }
        this.checker.start(SAMPLES_PER_SECOND, COORDINATION_POLL_INTERVAL);
        long since = System.nanoTime();
        if (awaitNanos(CONVERGENCE_TIMEOUT, () -> allSee(since, INSTANCES) && leaderSince(since) != null) < 0) {
            throw new IllegalStateException("The " + INSTANCES + " instances did not see each other and one leader "
                    + "within " + CONVERGENCE_TIMEOUT.toSeconds() + " s: " + describeCoordination());
        }
        warmUp();
    }

    /**
     * Each instance serves a few quotes, one at a time, before the scenarios, so that they measure
     * the cap under failures rather than a cold JVM. An instance's first partner clients derive their
     * signing keys (PBKDF2, 150,000 rounds) before the JIT has compiled it. On 2026-12-06, with
     * three JVMs doing so at once on this 2-core machine, that took longer than a load request may
     * wait ({@link #REQUEST_TIMEOUT}), so (a) failed with "no answer within 5000 ms", on the code of
     * the day before as well.
     */
    private void warmUp() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        List<Future<Integer>> warming = new ArrayList<>();
        for (SampleInstance instance : List.copyOf(this.instances)) {
            warming.add(this.starter.submit(() -> {
                int served = 0;
                long deadline = System.nanoTime() + WARM_UP_TIMEOUT.toNanos();
                for (int i = 0; served < WARM_UP_QUOTES && System.nanoTime() < deadline; i++) {
                    HttpRequest request = HttpRequest.newBuilder(instance.uri("/quotes/WARM-" + i))
                        .timeout(WARM_UP_TIMEOUT).build();
                    if (http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                        served++;
                    }
                }
                return served;
            }));
        }
        for (Future<Integer> served : warming) {
            if (served.get(WARM_UP_TIMEOUT.toSeconds() + 10, TimeUnit.SECONDS) < WARM_UP_QUOTES) {
                throw new IllegalStateException("An instance did not serve " + WARM_UP_QUOTES + " quotes within "
                        + WARM_UP_TIMEOUT.toSeconds() + " s before the scenarios: " + describeCoordination());
            }
        }
    }

    private SampleInstance startInstance(String name) {
        List<String> arguments = new ArrayList<>(List.of("--spring.profiles.active=" + this.backend.profile(),
                "--spring.jmx.enabled=false", "--spring.main.banner-mode=off",
                // An instance that fell back to running alone would prove nothing: stop instead.
                "--distributed.fail-fast=true",
                "--distributed.sync-interval=" + millis(SYNC_INTERVAL),
                "--distributed.leader-ttl=" + millis(this.leaderTtl),
                "--distributed.instance-ttl=" + millis(this.instanceTtl),
                "--distributed.rebalance-interval=" + millis(REBALANCE_INTERVAL),
                "--partner.url=" + this.partner.baseUri(), "--pivot.pool.pools." + POOL + ".max-size=" + MAX_SIZE,
                "--pivot.pool.pools." + POOL + ".global-max-size=" + GLOBAL_MAX_SIZE,
                "--pivot.pool.pools." + POOL + ".partition-size=" + PARTITION_SIZE,
                "--pivot.pool.pools." + POOL + ".borrow-timeout=" + millis(BORROW_TIMEOUT)));
        arguments.addAll(this.server.instanceArguments());
        SampleInstance instance = SampleInstance.start(name, arguments, this.logs,
                HttpClient.newHttpClient(), "/actuator/pools/" + POOL, STARTUP_TIMEOUT);
        synchronized (this.instances) {
            this.instances.add(instance);
        }
        this.checker.watch(instance);
        this.load.add(instance);
        return instance;
    }

    /** (a) Demand moves: the busy instance's share must follow it, and Σ stay within G throughout. */
    private void loadMovesFromOneInstanceToAnother() {
        SampleInstance a = instance("A");
        SampleInstance b = instance("B");
        SampleInstance c = instance("C");
        Scenario scenario = new Scenario("(a) load moves from A to B",
                String.format("%d clients on A, %d on B and C for %.0f s; then %d on B, %d on A and C for %.0f s",
                        HEAVY, LIGHT, seconds(PHASE), HEAVY, LIGHT, seconds(PHASE) + 1),
                GLOBAL_MAX_SIZE);
        begin(scenario);
        this.load.level(a, HEAVY);
        this.load.level(b, LIGHT);
        this.load.level(c, LIGHT);
        sleep(PHASE);
        PoolReading beforeA = this.checker.pool(a);
        PoolReading beforeB = this.checker.pool(b);
        long moved = System.nanoTime();
        this.load.level(a, LIGHT);
        this.load.level(b, HEAVY);
        sleep(PHASE.plusSeconds(1));
        end(scenario);
        List<Sample> after = scenario.samples().stream().filter((sample) -> sample.atNanos() >= moved).toList();
        Sample last = after.get(after.size() - 1);
        PoolReading finalB = last.reading("B");
        if (finalB != null && finalB.grant() != null) {
            int keptByOthers = 0;
            for (String other : List.of("A", "C")) {
                PoolReading reading = last.reading(other);
                keptByOthers += (reading != null && reading.grant() != null) ? reading.grant() : 0;
            }
            int canGet = Math.min(MAX_SIZE, GLOBAL_MAX_SIZE - keptByOthers);
            scenario.finding(String.format("before the move A's grant was %s, B's %s", grant(beforeA), grant(beforeB)));
            Sample converged = after.stream()
                .filter((sample) -> sample.reading("B") != null && sample.reading("B").grant() != null
                        && sample.reading("B").grant() >= 0.9 * canGet)
                .findFirst()
                .orElse(null);
            scenario.finding((converged != null)
                    ? String.format("B's grant reached %d, ≥ 90%% of the %d it can get (G %d − %d kept by A and "
                            + "C), %.2f s after the move (issue 7's target: ≤ 2 × rebalance-interval = %.1f s)",
                            converged.reading("B").grant(), canGet, GLOBAL_MAX_SIZE, keptByOthers,
                            (converged.atNanos() - moved) / 1e9, 2 * seconds(REBALANCE_INTERVAL))
                    : String.format("B's grant did not reach 90%% of the %d it can get within %.1f s: %d at the end",
                            canGet, (last.atNanos() - moved) / 1e9, finalB.grant()));
        }
        else {
            Sample converged = after.stream()
                .filter((sample) -> sample.reading("B") != null
                        && sample.reading("B").active() >= sample.reading("B").maxSize())
                .findFirst()
                .orElse(null);
            scenario.finding((converged != null)
                    ? String.format("B's active reached its maxSize %d %.2f s after the move (no grant shown)",
                            converged.reading("B").maxSize(), (converged.atNanos() - moved) / 1e9)
                    : String.format("B's active never reached its maxSize within %.1f s of the move (no grant shown)",
                            (last.atNanos() - moved) / 1e9));
        }
    }

    /** (b) The leader dies without a word: a new term begins, its grant comes back, a replacement joins. */
    private void leaderIsKilled() {
        Scenario scenario = new Scenario("(b) the leader is killed (kill -9), a replacement joins",
                String.format("%d clients on every instance; SIGKILL the leader after %.0f s; start instance D; "
                        + "%.0f s more once D is seen by all", HEAVY, seconds(SETTLE), seconds(SETTLE)),
                GLOBAL_MAX_SIZE);
        begin(scenario);
        this.checker.live().forEach((instance) -> this.load.level(instance, HEAVY));
        sleep(SETTLE);
        long since = System.nanoTime();
        awaitNanos(CONVERGENCE_TIMEOUT, () -> leaderSince(since) != null);
        SampleInstance leader = leaderSince(since);
        if (leader == null) {
            scenario.harnessProblem("no single leader to kill within " + CONVERGENCE_TIMEOUT.toSeconds() + " s: "
                    + describeCoordination());
            end(scenario);
            return;
        }
        long oldToken = this.checker.coordination(leader).fencingToken();
        long killed = System.nanoTime();
        leader.kill9();
        scenario.finding(String.format("killed the leader %s (pid %d, fencing token %d) at t=%.2fs", leader.name(),
                leader.pid(), oldToken, this.checker.seconds(killed)));
        List<SampleInstance> survivors = this.checker.live();
        long newLeader = awaitNanos(CONVERGENCE_TIMEOUT, () -> {
            SampleInstance next = leaderSince(killed);
            return next != null && this.checker.coordination(next).fencingToken() != oldToken;
        });
        if (newLeader < 0) {
            scenario.finding("no new leader within " + CONVERGENCE_TIMEOUT.toSeconds() + " s: "
                    + describeCoordination());
        }
        else {
            SampleInstance next = leaderSince(killed);
            long token = (next != null) ? this.checker.coordination(next).fencingToken() : 0;
            scenario.finding(String.format("new leader %s (fencing token %d, %s) %.2f s after the kill",
                    (next != null) ? next.name() : "?", token, (token > oldToken) ? "greater" : "NOT greater",
                    (newLeader - killed) / 1e9));
        }
        if (this.checker.capacityShown()) {
            long reclaimed = awaitNanos(CONVERGENCE_TIMEOUT, () -> {
                Integer sum = sumGrantSince(survivors, killed);
                return sum != null && sum >= 0.9 * GLOBAL_MAX_SIZE;
            });
            scenario.finding((reclaimed < 0) ? "the survivors' grants did not reach 90% of G within "
                    + CONVERGENCE_TIMEOUT.toSeconds() + " s of the kill: " + sumGrantSince(survivors, killed)
                    : String.format("the survivors' grants reached ≥ 90%% of G %.2f s after the kill (the dead "
                            + "leader's share reclaimed)", (reclaimed - killed) / 1e9));
        }
        long starting = System.nanoTime();
        SampleInstance replacement = startInstance("D");
        this.load.level(replacement, HEAVY);
        long joined = awaitNanos(CONVERGENCE_TIMEOUT, () -> allSee(starting, INSTANCES));
        scenario.finding((joined < 0)
                ? "the replacement D was not seen by all within " + CONVERGENCE_TIMEOUT.toSeconds() + " s of its start"
                : String.format("the replacement D started and was seen by all %.2f s later (JVM start-up included)",
                        (joined - starting) / 1e9));
        if (joined < 0) {
            scenario.harnessProblem("the cluster did not get back to " + INSTANCES + " members: "
                    + describeCoordination());
        }
        sleep(SETTLE);
        end(scenario);
    }

    /** An instance whose coordination was read since {@code since} and which did not lead then, or null. */
    private SampleInstance followerSince(long since) {
        return this.checker.live()
            .stream()
            .filter((instance) -> {
                CoordinatorReading view = this.checker.coordinationSince(instance, since);
                return view != null && !view.leader();
            })
            .findFirst()
            .orElse(null);
    }

    /**
     * (c) A follower stops dead (SIGSTOP) with objects borrowed, long enough for the others to drop
     * it and share its grant, then runs again (SIGCONT) believing for a moment that it still holds
     * its grant: the documented bound allows for what it held.
     */
    private void followerIsFrozenPastItsTtlAndThawed() {
        Scenario scenario = new Scenario("(c) a follower is frozen (SIGSTOP) past its TTL, then thawed (SIGCONT)",
                String.format("%d clients on every instance; SIGSTOP a follower until the others drop it "
                        + "(at most %.0f s), SIGCONT; %.0f s more once all see it again", HEAVY, seconds(MAX_FREEZE),
                        seconds(SETTLE)),
                GLOBAL_MAX_SIZE);
        begin(scenario);
        long since = System.nanoTime();
        // A follower's reading since then as well as the leader's: the checker polls each instance
        // in turn, and the followers' turn may come after the leader's.
        awaitNanos(CONVERGENCE_TIMEOUT, () -> leaderSince(since) != null && followerSince(since) != null);
        SampleInstance follower = followerSince(since);
        if (follower == null) {
            scenario.harnessProblem("no follower to freeze: " + describeCoordination());
            end(scenario);
            return;
        }
        List<SampleInstance> others = this.checker.live().stream().filter((instance) -> instance != follower).toList();
        long frozen = System.nanoTime();
        scenario.allowFrozenHolding(follower.name(), frozen);
        follower.freeze();
        long dropped = awaitNanos(MAX_FREEZE, () -> others.stream().allMatch((instance) -> {
            CoordinatorReading view = this.checker.coordinationSince(instance, frozen);
            return view != null && view.members() == INSTANCES - 1;
        }));
        PoolReading last = this.checker.pool(follower);
        scenario.finding(String.format("froze the follower %s at t=%.2fs; its last sample: active %d, grant %s",
                follower.name(), this.checker.seconds(frozen), last.active(), grant(last)));
        if (dropped < 0) {
            scenario.harnessProblem(String.format("the others still counted the frozen %s as a member %.0f s after "
                    + "SIGSTOP: not past its TTL (%s)", follower.name(), seconds(MAX_FREEZE), describeCoordination()));
        }
        else {
            scenario.finding(String.format("the others dropped %s %.2f s after SIGSTOP", follower.name(),
                    (dropped - frozen) / 1e9));
            sleep(Duration.ofMillis(Math.min(500, MAX_FREEZE.toMillis() - (System.nanoTime() - frozen) / 1_000_000)));
        }
        follower.thaw();
        long thawed = System.nanoTime();
        scenario.endFrozenHoldingAt(thawed + THAW_GRACE.toNanos());
        scenario.finding(String.format("thawed %s %.2f s after SIGSTOP; Σ may exceed G by %s until %.1f s after "
                + "SIGCONT", follower.name(), (thawed - frozen) / 1e9, scenario.frozenHolding(), seconds(THAW_GRACE)));
        long rejoined = awaitNanos(CONVERGENCE_TIMEOUT, () -> allSee(thawed, INSTANCES));
        scenario.finding((rejoined < 0) ? "not all instances saw " + follower.name() + " again within "
                + CONVERGENCE_TIMEOUT.toSeconds() + " s of SIGCONT: " + describeCoordination()
                : String.format("all instances saw %s again %.2f s after SIGCONT", follower.name(),
                        (rejoined - thawed) / 1e9));
        PoolReading firstAfter = awaitReading(follower, thawed);
        if (firstAfter != null && firstAfter.partitioned() != null) {
            scenario.finding(String.format("%s's first sample after SIGCONT: active %d, grant %s, partitioned %s",
                    follower.name(), firstAfter.active(), grant(firstAfter), firstAfter.partitioned()));
        }
        sleep(SETTLE);
        end(scenario);
    }

    /**
     * (d) The server dies and comes back (Redis empty, etcd with its data): every instance runs on
     * its partition size, then rejoins.
     */
    private void serverIsKilledAndRestarted() {
        String server = (this.backend == CoordinationBackend.REDIS) ? "redis-server" : this.backend.profile();
        Scenario scenario = new Scenario("(d) " + server + " is killed and " + this.backend.restart(),
                String.format("%d clients on every instance; SIGKILL %s for %.0f s, start it again on its port; "
                        + "%.0f s more once the cluster has formed again", HEAVY, server, seconds(this.outage),
                        seconds(SETTLE)),
                GLOBAL_MAX_SIZE);
        begin(scenario);
        List<SampleInstance> live = this.checker.live();
        sleep(Duration.ofSeconds(1));
        long down = System.nanoTime();
        this.server.kill9();
        long noticed = awaitNanos(this.outage, () -> live.stream().allMatch((instance) -> {
            CoordinatorReading view = this.checker.coordinationSince(instance, down);
            return view != null && !view.connected();
        }));
        scenario.finding((noticed < 0) ? "not every instance reported connected=false within the outage"
                : String.format("every instance reported connected=false %.2f s after the kill",
                        (noticed - down) / 1e9));
        if (this.checker.capacityShown()) {
            long partitioned = awaitNanos(this.outage.minusNanos(System.nanoTime() - down), () -> live.stream()
                .allMatch((instance) -> {
                    PoolReading pool = this.checker.poolSince(instance, down);
                    return pool != null && Boolean.TRUE.equals(pool.partitioned());
                }));
            scenario.finding((partitioned < 0) ? "not every instance reported partitioned=true during the outage"
                    : String.format("every instance reported partitioned=true %.2f s after the kill",
                            (partitioned - down) / 1e9));
        }
        sleep(Duration.ofNanos(Math.max(0, this.outage.toNanos() - (System.nanoTime() - down))));
        this.server.restart();
        long up = System.nanoTime();
        long formed = awaitNanos(CONVERGENCE_TIMEOUT, () -> live.stream().allMatch((instance) -> {
            CoordinatorReading view = this.checker.coordinationSince(instance, up);
            return view != null && view.connected();
        }) && allSee(up, INSTANCES) && leaderSince(up) != null);
        if (formed < 0) {
            scenario.harnessProblem("the cluster did not form again within " + CONVERGENCE_TIMEOUT.toSeconds()
                    + " s of " + server + "'s restart: " + describeCoordination());
        }
        else {
            scenario.finding(String.format("%s down %.2f s; after its restart all connected, %d members and one "
                    + "leader after %.2f s", server, (up - down) / 1e9, INSTANCES, (formed - up) / 1e9));
        }
        if (this.checker.capacityShown()) {
            long healed = awaitNanos(CONVERGENCE_TIMEOUT, () -> live.stream().allMatch((instance) -> {
                PoolReading pool = this.checker.poolSince(instance, up);
                return pool != null && Boolean.FALSE.equals(pool.partitioned());
            }));
            long shared = awaitNanos(CONVERGENCE_TIMEOUT, () -> {
                Integer sum = sumGrantSince(live, up);
                return sum != null && sum >= 0.9 * GLOBAL_MAX_SIZE;
            });
            scenario.finding((healed < 0) ? "not every instance reported partitioned=false within "
                    + CONVERGENCE_TIMEOUT.toSeconds() + " s of the restart"
                    : String.format("every instance reported partitioned=false %.2f s after the restart",
                            (healed - up) / 1e9));
            scenario.finding((shared < 0) ? "Σ grant did not reach 90% of G within " + CONVERGENCE_TIMEOUT.toSeconds()
                    + " s of the restart: " + sumGrantSince(live, up)
                    : String.format("Σ grant reached ≥ 90%% of G %.2f s after the restart", (shared - up) / 1e9));
        }
        sleep(SETTLE);
        end(scenario);
    }

    /**
     * (f) Issue 15: a tenant of the same server writes records in the coordinator's own format, well
     * formed and within the lifetimes a member could have written, under load. Each must cost at
     * most what docs/security.md says it may (a record believed for its own life, a fence for one
     * leader-ttl) and the cluster must then heal by itself: one leader, only its own members,
     * G shared again. Σ ≤ G and one leader are checked throughout, as in every scenario.
     */
    private void foreignRecordsArePlantedUnderLoad() {
        // Twice the ttl: within the 4 × a member may write (Plausibility), and longer than any record
        // of ours lives, without making the run longer than it needs to be.
        Duration leaderLife = this.leaderTtl.multipliedBy(2);
        Duration instanceLife = this.instanceTtl.multipliedBy(2);
        Scenario scenario = new Scenario("(f) plausible foreign records are planted under load",
                String.format("%d clients on every instance; one record at a time, written straight to the server "
                        + "in the coordinator's format by no member, each within the lifetime a member gives its "
                        + "kind; then the cluster must heal (one leader, %d members, Σ grant ≥ 90%% of G for %.1f s, "
                        + "and past the record's life) within the record's documented cost + leader-ttl + "
                        + "rebalance-interval + 3 × sync-interval + %.1f s",
                        HEAVY, INSTANCES, seconds(HEALED_FOR), seconds(HEAL_SLACK)),
                GLOBAL_MAX_SIZE);
        begin(scenario);
        this.checker.live().forEach((instance) -> this.load.level(instance, HEAVY));
        // A target lives as long as its leader writes it for: 3 × rebalance-interval + instance-ttl.
        Duration targetLife = REBALANCE_INTERVAL.multipliedBy(3).plus(this.instanceTtl);
        List<ForeignRecord> plants = List.of(
                // Fenced at once, but the fence lasts what is left of the planted lease.
                new ForeignRecord("a stranger's lease whose token is above the term counter", leaderLife, leaderLife,
                        (records) -> records.lease("stranger", records.term() + 1_000_000, leaderLife)),
                new ForeignRecord("a stranger's lease within the term counter, for 2 × leader-ttl", leaderLife,
                        leaderLife, (records) -> records.lease("stranger", Math.max(1, records.term()), leaderLife)),
                // A counter acts when the next term begins: fenced for one leader-ttl, then reset.
                new ForeignRecord("a term counter at 2^63 − 1", this.leaderTtl, Duration.ZERO,
                        (records) -> records.term(Long.toString(Long.MAX_VALUE))),
                new ForeignRecord("a stranger's grant of all of G, for 2 × instance-ttl", instanceLife, instanceLife,
                        (records) -> records.grant(POOL, "stranger", GLOBAL_MAX_SIZE, instanceLife)),
                new ForeignRecord("a stranger registered as an instance of another application, for 2 × instance-ttl",
                        instanceLife, instanceLife, (records) -> records.member("other-app-1", "billing", instanceLife)),
                new ForeignRecord("the leader key deleted under the live leader (an eviction)", this.leaderTtl,
                        Duration.ZERO, ForeignRecords::removeLeader),
                // A target the current leader could have written, but did not: it stands until the
                // leader refreshes that key (at most half the targets' ttl).
                new ForeignRecord("a target of 0 for a follower, under the current term's token",
                        targetLife.dividedBy(2), targetLife,
                        (records) -> records.value("pivot.capacity:" + POOL + ":target:" + followerId(),
                                "t1 " + leaderToken() + " 0", targetLife)),
                // Another start time under a live instance's id: both sides are held back (they cannot
                // tell a tenant from a second process) for twice instance-ttl after the last conflict.
                new ForeignRecord("a registration under a live follower's id with another start time",
                        this.instanceTtl.multipliedBy(3), instanceLife,
                        (records) -> records.member(followerId(), "pivot-pool-sample", instanceLife)));
        try (ForeignRecords records = this.server.foreignRecords(NAMESPACE)) {
            // Healthy before the first plant; each later one starts where the one before was found
            // healed, healthy for HEALED_FOR and past its record's life.
            if (awaitHealed(System.nanoTime(), Duration.ZERO, CONVERGENCE_TIMEOUT).healedNanos() < 0) {
                scenario.harnessProblem("the cluster was not healthy before the first plant: " + describeCoordination());
                plants = List.of();
            }
            for (ForeignRecord plant : plants) {
                long planted = System.nanoTime();
                plant.write().accept(records);
                Duration bound = plant.cost().plus(this.leaderTtl).plus(REBALANCE_INTERVAL)
                    .plus(SYNC_INTERVAL.multipliedBy(3)).plus(HEAL_SLACK);
                Healing healing = awaitHealed(planted, plant.life(), bound.plus(CONVERGENCE_TIMEOUT));
                long healed = healing.healedNanos();
                if (healed < 0) {
                    scenario.violation(Promise.HEALED, String.format("%s: not healed within %.1f s: %s", plant.name(),
                            seconds(bound.plus(CONVERGENCE_TIMEOUT)), describeCoordination()));
                }
                else if (healed - planted > bound.toNanos()) {
                    scenario.violation(Promise.HEALED, String.format("%s: healed after %.2f s, more than its bound "
                            + "%.1f s", plant.name(), (healed - planted) / 1e9, seconds(bound)));
                }
                else if (healing.disturbed()) {
                    scenario.finding(String.format("%s: healed %.2f s after it was written (bound %.1f s); term "
                            + "counter then %d", plant.name(), (healed - planted) / 1e9, seconds(bound), records.term()));
                }
                else {
                    scenario.finding(String.format("%s: no reading disturbed (one leader, %d members, G shared "
                            + "throughout its life); term counter then %d", plant.name(), INSTANCES, records.term()));
                }
            }
        }
        end(scenario);
    }

    /**
     * Waits until the cluster is healthy, judged on readings sent from two sync intervals after
     * {@code fromNanos} (so that every instance had a round to see what changed), and stays so for
     * {@link #HEALED_FOR} and until the record's {@code life} is over, so that a record that acts
     * late in its life is not taken for one that was shrugged off: the start of the last healthy
     * span, or -1 when none came within {@code timeout}.
     */
    private Healing awaitHealed(long fromNanos, Duration life, Duration timeout) {
        long seen = fromNanos + SYNC_INTERVAL.multipliedBy(2).toNanos();
        long lived = fromNanos + life.toNanos();
        long deadline = fromNanos + timeout.toNanos();
        long healthySince = -1;
        boolean disturbed = false;
        while (System.nanoTime() < deadline) {
            Boolean healthy = (System.nanoTime() >= seen) ? healthySince(seen) : null;
            if (Boolean.TRUE.equals(healthy)) {
                if (healthySince < 0) {
                    healthySince = System.nanoTime();
                }
                if (System.nanoTime() - healthySince >= HEALED_FOR.toNanos() && System.nanoTime() >= lived) {
                    return new Healing(healthySince, disturbed);
                }
            }
            else {
                disturbed |= Boolean.FALSE.equals(healthy);
                healthySince = -1;
            }
            SampleInstance.sleep(50);
        }
        return new Healing(-1, disturbed);
    }

    /**
     * When the cluster was healthy again ({@code -1}: not in time), and whether any reading in
     * between showed it otherwise: a record the cluster shrugged off leaves no trace, which the
     * report says instead of a time to heal that would mean nothing.
     */
    private record Healing(long healedNanos, boolean disturbed) {
    }

    /**
     * One leader, the instances' own members only, and G shared, in readings sent since then; null
     * while some live instance has not been read since then.
     */
    private Boolean healthySince(long sinceNanos) {
        List<SampleInstance> live = this.checker.live();
        boolean connected = true;
        for (SampleInstance instance : live) {
            CoordinatorReading view = this.checker.coordinationSince(instance, sinceNanos);
            if (view == null || this.checker.poolSince(instance, sinceNanos) == null) {
                return null;
            }
            connected &= view.connected();
        }
        Integer sum = sumGrantSince(live, sinceNanos);
        return connected && allSee(sinceNanos, INSTANCES) && leaderSince(sinceNanos) != null && sum != null
                && sum >= 0.9 * GLOBAL_MAX_SIZE;
    }

    /** The instance id of a live instance that does not lead now. */
    private String followerId() {
        long now = System.nanoTime() - COORDINATION_POLL_INTERVAL.multipliedBy(3).toNanos();
        return this.checker.live().stream()
            .map((instance) -> this.checker.coordinationSince(instance, now))
            .filter((view) -> view != null && !view.leader())
            .map(CoordinatorReading::instanceId)
            .findFirst()
            .orElseThrow(() -> new IllegalStateException("no follower to plant for: " + describeCoordination()));
    }

    /** The fencing token of the term in force, as its leader shows it. */
    private long leaderToken() {
        long now = System.nanoTime() - COORDINATION_POLL_INTERVAL.multipliedBy(3).toNanos();
        SampleInstance leader = leaderSince(now);
        if (leader == null) {
            throw new IllegalStateException("no single leader to take the token of: " + describeCoordination());
        }
        return this.checker.coordination(leader).fencingToken();
    }

    /**
     * A record scenario (f) plants: what it is, what docs/security.md says it may cost, how long it
     * lives (zero: until the cluster overwrites it), how it is written.
     */
    private record ForeignRecord(String name, Duration cost, Duration life,
            java.util.function.Consumer<ForeignRecords> write) {
    }

    /** (e) The load stops: every borrowed object must come back, on every instance and at the partner. */
    private void loadStopsAndEveryObjectComesBack() {
        Scenario scenario = new Scenario("(e) the load stops: every object comes back",
                "stop every client, wait for their last requests; then every live instance must show active = 0 "
                        + "and the partner no call in flight",
                GLOBAL_MAX_SIZE);
        begin(scenario);
        long stopping = System.nanoTime();
        if (!this.load.stopAndAwaitIdle(REQUEST_TIMEOUT.plusSeconds(2))) {
            scenario.harnessProblem("load requests still running " + seconds(REQUEST_TIMEOUT.plusSeconds(2))
                    + " s after the load stopped");
        }
        long idle = System.nanoTime();
        List<SampleInstance> live = this.checker.live();
        long returned = awaitNanos(Duration.ofSeconds(10), () -> this.partner.inFlight() == 0
                && live.stream().allMatch((instance) -> {
                    PoolReading pool = this.checker.poolSince(instance, idle);
                    return pool != null && pool.active() == 0 && pool.waiting() == 0;
                }));
        if (returned < 0) {
            StringBuilder lost = new StringBuilder();
            for (SampleInstance instance : live) {
                PoolReading pool = this.checker.poolSince(instance, idle);
                lost.append(instance.name())
                    .append((pool != null) ? " active=" + pool.active() + " waiting=" + pool.waiting() : " (no answer)")
                    .append(", ");
            }
            scenario.violation(Promise.OBJECTS_RETURNED, String.format(
                    "objects lost: 10 s after the last request ended, %spartner in flight %d",
                    lost, this.partner.inFlight()));
        }
        else {
            scenario.finding(String.format("every instance at active = 0, the partner at 0 calls, %.2f s after the "
                    + "last request ended (%.2f s after the load stopped)", (returned - idle) / 1e9,
                    (returned - stopping) / 1e9));
        }
        end(scenario);
    }

    private void begin(Scenario scenario) {
        this.scenarios.add(scenario);
        this.checker.begin(scenario, this.load.outcomes());
    }

    private void end(Scenario scenario) {
        scenario.ended(System.nanoTime(), this.load.outcomes(), this.load.errorExamples());
    }

    /** Every broken promise, the first one first: Σ or partner violations, borrower errors, lost objects. */
    private List<String> brokenPromises(List<Scenario> scenarios) {
        List<String> broken = new ArrayList<>();
        for (Scenario scenario : scenarios) {
            for (Promise promise : Promise.values()) {
                int count = scenario.violationCount(promise);
                if (count > 0) {
                    broken.add(scenario.violations(promise).get(0) + " in " + scenario.name()
                            + ((count > 1) ? " (and " + (count - 1) + " more like it)" : ""));
                }
            }
            Map<String, Long> errors = scenario.errors();
            if (!errors.isEmpty()) {
                broken.add("borrower errors other than the pool's own timeout in " + scenario.name() + ": " + errors
                        + ", e.g. " + scenario.errorExamples().stream().limit(2).toList());
            }
            scenario.harnessProblems().forEach((problem) -> broken.add(scenario.name() + " did not happen as planned: "
                    + problem));
        }
        if (this.checker != null) {
            this.checker.checkerErrors().forEach((error) -> broken.add("the checker failed: " + error));
        }
        return broken;
    }

    private String report(List<Scenario> scenarios, List<String> brokenPromises, Throwable harnessFailure)
            throws Exception {
        double runSeconds = (System.nanoTime() - this.startNanos) / 1e9;
        List<String> parameters = List.of(
                String.format("%d instances, max-size %d each, global-max-size G %d, partition-size %d; partner "
                        + "latency %d ms, limit %d (above anything the instances could send)", INSTANCES, MAX_SIZE,
                        GLOBAL_MAX_SIZE, PARTITION_SIZE, PARTNER_LATENCY.toMillis(), PARTNER_LIMIT),
                String.format("sync-interval %s, leader-ttl %s, instance-ttl %s, rebalance-interval %s, borrow-timeout "
                        + "%s; load: %d clients on a busy instance, %d on a quiet one, requests bounded by %s",
                        millis(SYNC_INTERVAL), millis(this.leaderTtl), millis(this.instanceTtl), millis(REBALANCE_INTERVAL),
                        millis(BORROW_TIMEOUT), HEAVY, LIGHT, millis(REQUEST_TIMEOUT)),
                String.format("checked: Σ active over the instances %d×/s (a lone excess must be confirmed by the "
                        + "next sample), the partner's exact calls in flight, borrower outcomes; bound G except while "
                        + "a frozen instance holds what it borrowed; t counts from the test's start",
                        SAMPLES_PER_SECOND));
        List<String> verdict = new ArrayList<>();
        if (harnessFailure != null) {
            verdict.add("DID NOT RUN TO ITS END: " + harnessFailure);
        }
        verdict.add(brokenPromises.isEmpty() && harnessFailure == null ? "PASSED: every promise kept"
                : "FAILED: " + brokenPromises.size() + " broken promise(s)"
                        + (brokenPromises.isEmpty() ? "" : "; the first: " + brokenPromises.get(0)));
        verdict.add(String.format("run time %.1f s; samples: %s; instance logs: %s/", runSeconds,
                this.logs.resolve("samples.csv"), this.logs));
        String report = ChaosReport.format("Pivot Pool chaos test (issues 7 and 11): the cluster-wide cap under failures, "
                + "coordinated through " + this.backend.profile(),
                parameters, this.checker != null && this.checker.capacityShown(), scenarios, this.checker, verdict);
        Files.createDirectories(this.logs);
        Files.writeString(this.reportFile, report, StandardCharsets.UTF_8);
        if (this.checker != null) {
            this.checker.writeCsv(this.logs.resolve("samples.csv"));
        }
        return report;
    }

    private void printInstanceLogs() {
        for (SampleInstance instance : this.instances) {
            System.out.println("----- the last lines of " + instance + ", " + instance.log() + ":");
            System.out.println(instance.logTail(30));
        }
        if (this.server != null) {
            System.out.println("----- " + this.server);
        }
    }

    private SampleInstance instance(String name) {
        synchronized (this.instances) {
            return this.instances.stream().filter((instance) -> instance.name().equals(name)).findFirst().orElseThrow();
        }
    }

    /** Whether every live instance, in a view read since then, counts {@code members} members. */
    private boolean allSee(long sinceNanos, int members) {
        return this.checker.live().stream().allMatch((instance) -> {
            CoordinatorReading view = this.checker.coordinationSince(instance, sinceNanos);
            return view != null && view.members() == members;
        });
    }

    /** The one live instance that says it leads (views read since then), or null if none or several do. */
    private SampleInstance leaderSince(long sinceNanos) {
        List<SampleInstance> leaders = this.checker.live().stream().filter((instance) -> {
            CoordinatorReading view = this.checker.coordinationSince(instance, sinceNanos);
            return view != null && view.leader();
        }).toList();
        return (leaders.size() == 1) ? leaders.get(0) : null;
    }

    private Integer sumGrantSince(List<SampleInstance> instances, long sinceNanos) {
        int sum = 0;
        for (SampleInstance instance : instances) {
            PoolReading pool = this.checker.poolSince(instance, sinceNanos);
            if (pool == null || pool.grant() == null) {
                return null;
            }
            sum += pool.grant();
        }
        return sum;
    }

    private PoolReading awaitReading(SampleInstance instance, long sinceNanos) {
        awaitNanos(Duration.ofSeconds(2), () -> this.checker.poolSince(instance, sinceNanos) != null);
        return this.checker.poolSince(instance, sinceNanos);
    }

    private String describeCoordination() {
        StringBuilder description = new StringBuilder();
        for (SampleInstance instance : this.checker.live()) {
            CoordinatorReading view = this.checker.coordination(instance);
            description.append(instance.name()).append(": ");
            description.append((view != null) ? String.format("connected=%s leader=%s members=%d token=%d (%.1f s ago)",
                    view.connected(), view.leader(), view.members(), view.fencingToken(),
                    (System.nanoTime() - view.readAtNanos()) / 1e9) : "no view yet");
            description.append("; ");
        }
        return description.toString();
    }

    /** Polls every 50 ms until the condition holds or the timeout passes: System.nanoTime() then, or -1. */
    private static long awaitNanos(Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (condition.getAsBoolean()) {
                return System.nanoTime();
            }
            if (System.nanoTime() > deadline) {
                return -1;
            }
            SampleInstance.sleep(50);
        }
    }

    private static void sleep(Duration duration) {
        SampleInstance.sleep(Math.max(0, duration.toMillis()));
    }

    private static void awaitTermination(ExecutorService executor) {
        try {
            executor.awaitTermination(10, TimeUnit.SECONDS);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private static String grant(PoolReading reading) {
        return (reading != null && reading.grant() != null) ? reading.grant().toString() : "not shown";
    }

    private static String millis(Duration duration) {
        return duration.toMillis() + "ms";
    }

    private static double seconds(Duration duration) {
        return duration.toMillis() / 1000.0;
    }
}
