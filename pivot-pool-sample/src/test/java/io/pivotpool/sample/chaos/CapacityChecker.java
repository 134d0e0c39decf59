package io.pivotpool.sample.chaos;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import io.pivotpool.sample.chaos.Scenario.Promise;
import io.pivotpool.sample.chaos.SampleInstance.State;
import io.pivotpool.sample.partner.PartnerSimulator;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Samples the cluster many times a second: every instance's pool ({@code active}, the objects
 * borrowed now, from {@code /actuator/pools/{pool}}, the three instances polled concurrently, each
 * poll bounded by a short timeout) together with the shared partner's exact count of calls in
 * flight, and checks each sample against the current scenario's bound on Σ in-use. A slower
 * second poll reads each instance's view of the coordination ({@code /actuator/pools}).
 *
 * <p>A frozen instance cannot answer: it counts with its last sample before SIGSTOP. A killed one
 * counts for nothing: its objects died with it. An instance whose poll times out counts with its
 * last sample (a "stale read", reported).
 *
 * <p>Why an excess must show in two consecutive samples: the polls are concurrent but not
 * simultaneous, and capacity can move between instances within milliseconds (A's borrowers return,
 * A gives back, B is granted and lends at once). A sample that read A before it gave back and B
 * after it grew sums to more than G although the cluster never held more. The same hand-over
 * cannot fool the next sample too: every read of the next sample starts after every read of this
 * one has ended (the sampling task never overlaps itself), hence after B grew, hence after A gave
 * back. So a lone excess is counted and reported but is not a failure; an excess in two
 * consecutive samples is. A sample holding a stale read of a running instance (its poll timed
 * out) judges nothing. The partner's count has no skew at all (one counter in this JVM, and every
 * call to it happens inside a borrow), so any partner peak above the bound fails at once.
 *
 * <p>The {@code capacity} object ({@code globalMaxSize, grant, target, demand, partitioned}) is read
 * when an instance shows it; a missing field is null, never a failure.
 */
final class CapacityChecker implements AutoCloseable {

    private final HttpClient http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofMillis(500))
        .build();

    private final PartnerSimulator partner;

    private final String poolName;

    private final Duration pollTimeout;

    private final long startNanos;

    private final List<SampleInstance> instances = new CopyOnWriteArrayList<>();

    private final Map<SampleInstance, PoolReading> lastPool = new ConcurrentHashMap<>();

    private final Map<SampleInstance, CoordinatorReading> lastCoordinator = new ConcurrentHashMap<>();

    private final List<Sample> samples = new CopyOnWriteArrayList<>();

    private final List<String> checkerErrors = new CopyOnWriteArrayList<>();

    private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2, (runnable) -> {
        Thread thread = new Thread(runnable, "capacity-checker");
        thread.setDaemon(true);
        return thread;
    });

    private volatile Scenario current;

    // Touched only by the pool sampling task (one thread at a time).
    private Sample excessRunStart;

    private int excessRunLength;

    private int previousBound;

    private long previousSampleNanos;

    // Touched only by the coordination sampling task: the leadership claims seen so far.
    private final Map<Long, String> claimants = new java.util.HashMap<>();

    private long newestToken;

    private String newestClaimant;

    private long newestClaimReceivedNanos;

    CapacityChecker(PartnerSimulator partner, String poolName, Duration pollTimeout, long startNanos) {
        this.partner = partner;
        this.poolName = poolName;
        this.pollTimeout = pollTimeout;
        this.startNanos = startNanos;
    }

    void watch(SampleInstance instance) {
        this.instances.add(instance);
        this.instances.sort(Comparator.comparing(SampleInstance::name));
    }

    List<SampleInstance> live() {
        return this.instances.stream().filter((instance) -> instance.state() != State.KILLED).toList();
    }

    void start(int samplesPerSecond, Duration coordinatorPollInterval) {
        this.partner.takeMaxInFlight();
        this.scheduler.scheduleAtFixedRate(() -> guarded(this::samplePools), 0, 1_000_000 / samplesPerSecond,
                TimeUnit.MICROSECONDS);
        this.scheduler.scheduleWithFixedDelay(() -> guarded(this::sampleCoordination), 0,
                coordinatorPollInterval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Samples from now on count for (and are checked against) this scenario. */
    void begin(Scenario scenario, Map<String, Long> outcomes) {
        scenario.started(System.nanoTime(), outcomes);
        this.current = scenario;
    }

    /** The instance's last pool reading, or null. */
    PoolReading pool(SampleInstance instance) {
        return this.lastPool.get(instance);
    }

    /** The instance's pool as read by a poll sent at or after {@code sinceNanos}, or null. */
    PoolReading poolSince(SampleInstance instance, long sinceNanos) {
        PoolReading reading = this.lastPool.get(instance);
        return (reading != null && reading.readAtNanos() >= sinceNanos) ? reading : null;
    }

    /** The instance's last view of the coordination, or null. */
    CoordinatorReading coordination(SampleInstance instance) {
        return this.lastCoordinator.get(instance);
    }

    /** The instance's view of the coordination as read by a poll sent at or after {@code sinceNanos}, or null. */
    CoordinatorReading coordinationSince(SampleInstance instance, long sinceNanos) {
        CoordinatorReading reading = this.lastCoordinator.get(instance);
        return (reading != null && reading.readAtNanos() >= sinceNanos) ? reading : null;
    }

    /** Whether any instance has shown the capacity object: the cluster-wide cap is implemented. */
    boolean capacityShown() {
        return this.samples.stream()
            .flatMap((sample) -> sample.instances().values().stream())
            .anyMatch((reading) -> reading.pool().grant() != null);
    }

    List<String> checkerErrors() {
        return List.copyOf(this.checkerErrors);
    }

    double seconds(long nanos) {
        return (nanos - this.startNanos) / 1e9;
    }

    private void guarded(Runnable task) {
        try {
            task.run();
        }
        catch (Throwable ex) {
            // A scheduled task that throws is never run again: keep going, and fail the test later.
            if (this.checkerErrors.size() < 10) {
                this.checkerErrors.add(ex.toString());
            }
        }
    }

    private void samplePools() {
        long now = System.nanoTime();
        int partnerPeak = this.partner.takeMaxInFlight();
        int partnerNow = this.partner.inFlight();
        Map<SampleInstance, CompletableFuture<Timed<PoolReading>>> reads = new LinkedHashMap<>();
        for (SampleInstance instance : this.instances) {
            if (instance.state() == State.RUNNING) {
                reads.put(instance, read(instance, "/actuator/pools/" + this.poolName, PoolReading::of));
            }
        }
        Map<String, InstanceReading> readings = new LinkedHashMap<>();
        long firstSent = Long.MAX_VALUE;
        long lastReceived = Long.MIN_VALUE;
        int staleReads = 0;
        for (SampleInstance instance : this.instances) {
            if (instance.state() == State.KILLED) {
                continue;
            }
            CompletableFuture<Timed<PoolReading>> read = reads.get(instance);
            Timed<PoolReading> fresh = (read != null) ? read.join() : null;
            if (fresh != null) {
                this.lastPool.put(instance, fresh.value().at(fresh.sentNanos()));
                firstSent = Math.min(firstSent, fresh.sentNanos());
                lastReceived = Math.max(lastReceived, fresh.receivedNanos());
            }
            else if (instance.state() == State.RUNNING) {
                staleReads++;
            }
            PoolReading reading = this.lastPool.get(instance);
            if (reading != null) {
                readings.put(instance.name(), new InstanceReading(reading, (fresh != null) ? Freshness.FRESH
                        : (instance.state() == State.FROZEN) ? Freshness.FROZEN : Freshness.NO_ANSWER));
            }
        }
        Scenario scenario = this.current;
        if (scenario != null) {
            // The frozen instance counts in Σ with its last reading before SIGSTOP, and so does its allowance.
            readings.forEach((name, reading) -> {
                if (reading.freshness() == Freshness.FROZEN) {
                    scenario.frozenHoldingRead(name, reading.pool());
                }
            });
        }
        int bound = (scenario != null) ? scenario.boundAt(now) : Integer.MAX_VALUE;
        Sample sample = new Sample(now, (scenario != null) ? scenario.name() : "-", readings,
                readings.values().stream().mapToInt((reading) -> reading.pool().active()).sum(), bound, partnerNow,
                partnerPeak, staleReads, (firstSent == Long.MAX_VALUE) ? 0 : lastReceived - firstSent);
        this.samples.add(sample);
        long previousSample = this.previousSampleNanos;
        this.previousSampleNanos = now;
        if (scenario == null) {
            return;
        }
        scenario.add(sample);
        checkSum(scenario, sample);
        // The partner's peak happened since the previous sample: hold it to the looser of the two bounds.
        int partnerBound = Math.max(bound, this.previousBound);
        if (partnerPeak > partnerBound) {
            scenario.violation(Promise.PARTNER_IN_FLIGHT,
                    String.format("the partner served %d calls at once > %s, between t=%.2fs and t=%.2fs "
                            + "(its exact count; %s)", partnerPeak, scenario.describeBoundAt(now),
                            seconds(previousSample), seconds(now), sample.describeActive()));
        }
        this.previousBound = bound;
    }

    private void checkSum(Scenario scenario, Sample sample) {
        if (sample.staleReads() > 0) {
            // A running instance that did not answer in time may have changed since its last reading:
            // this sample can neither show nor confirm an excess.
            scenario.unjudged();
            this.excessRunLength = 0;
            this.excessRunStart = null;
            return;
        }
        if (sample.sumActive() <= sample.bound()) {
            if (this.excessRunLength == 1) {
                scenario.unconfirmedExcess();
            }
            this.excessRunLength = 0;
            this.excessRunStart = null;
            return;
        }
        this.excessRunLength++;
        if (this.excessRunLength == 1) {
            this.excessRunStart = sample;
            return;
        }
        if (this.excessRunLength == 2) {
            Sample first = this.excessRunStart;
            scenario.violation(Promise.SUM_IN_USE,
                    String.format("Σ in-use %d > %s at t=%.2fs (%s; the next sample, %.0f ms later: Σ %d)",
                            first.sumActive(), scenario.describeBoundAt(first.atNanos()), seconds(first.atNanos()),
                            first.describeActive(), (sample.atNanos() - first.atNanos()) / 1e6, sample.sumActive()));
        }
        scenario.violation(Promise.SUM_IN_USE, String.format("Σ in-use %d > %s at t=%.2fs (%s)", sample.sumActive(),
                scenario.describeBoundAt(sample.atNanos()), seconds(sample.atNanos()), sample.describeActive()));
    }

    private void sampleCoordination() {
        Map<SampleInstance, CompletableFuture<Timed<CoordinatorReading>>> reads = new LinkedHashMap<>();
        for (SampleInstance instance : this.instances) {
            if (instance.state() == State.RUNNING) {
                reads.put(instance, read(instance, "/actuator/pools", CoordinatorReading::of));
            }
        }
        reads.forEach((instance, read) -> {
            Timed<CoordinatorReading> fresh = read.join();
            if (fresh != null) {
                this.lastCoordinator.put(instance, fresh.value().at(fresh.sentNanos()));
                if (fresh.value().leader()) {
                    checkLeadership(instance, fresh);
                }
            }
        });
    }

    /**
     * Never two leaders, judged from the instances' own claims ({@code isLeader} with its fencing
     * token) without trusting the order of reads that overlap: one token claimed by two instances
     * is a violation, and so is a claim of an older term read entirely after another instance's
     * claim of a newer one had been answered (the older leader still led after the newer term
     * began). A claim reads the instance's trust at some moment between the request and its
     * answer, so two claims whose reads overlap prove nothing and are not judged.
     */
    private void checkLeadership(SampleInstance instance, Timed<CoordinatorReading> claim) {
        long token = claim.value().fencingToken();
        String name = instance.name();
        String other = this.claimants.putIfAbsent(token, name);
        if (other != null && !other.equals(name)) {
            leadershipViolation(String.format("%s and %s both claimed to lead with fencing token %d (t=%.2fs)", other,
                    name, token, seconds(claim.sentNanos())));
        }
        if (token < this.newestToken && !name.equals(this.newestClaimant)
                && claim.sentNanos() > this.newestClaimReceivedNanos) {
            leadershipViolation(String.format("%s claimed to lead with fencing token %d at t=%.2fs, after %s's "
                    + "claim of the newer token %d had been answered (t=%.2fs)", name, token,
                    seconds(claim.sentNanos()), this.newestClaimant, this.newestToken,
                    seconds(this.newestClaimReceivedNanos)));
        }
        if (token > this.newestToken) {
            this.newestToken = token;
            this.newestClaimant = name;
            this.newestClaimReceivedNanos = claim.receivedNanos();
        }
    }

    private void leadershipViolation(String message) {
        Scenario scenario = this.current;
        if (scenario != null) {
            scenario.violation(Promise.ONE_LEADER, message);
        }
        else if (this.checkerErrors.size() < 10) {
            this.checkerErrors.add("between scenarios: " + message);
        }
    }

    /** A bounded GET: the parsed body, or null on any failure or timeout. */
    private <T> CompletableFuture<Timed<T>> read(SampleInstance instance, String path,
            java.util.function.Function<JsonNode, T> parser) {
        long sent = System.nanoTime();
        HttpRequest request = HttpRequest.newBuilder(instance.uri(path)).timeout(this.pollTimeout).build();
        return this.http.sendAsync(request, HttpResponse.BodyHandlers.ofString())
            .thenApply((response) -> (response.statusCode() != 200) ? null
                    : new Timed<>(parser.apply(JsonMapper.shared().readTree(response.body())), sent,
                            System.nanoTime()))
            .completeOnTimeout(null, this.pollTimeout.toMillis() + 100, TimeUnit.MILLISECONDS)
            .exceptionally((ex) -> null);
    }

    /** Every sample as CSV, for a look at what happened between the report's numbers. */
    void writeCsv(Path file) {
        List<String> names = this.instances.stream().map(SampleInstance::name).toList();
        List<String> lines = new ArrayList<>();
        lines.add("t_s,scenario," + names.stream()
            .map((name) -> name + "_active," + name + "_size," + name + "_waiting," + name + "_maxSize," + name
                    + "_grant," + name + "_target," + name + "_demand," + name + "_partitioned")
            .collect(Collectors.joining(","))
                + ",sum_active,bound,partner_in_flight,partner_peak,stale_reads,read_span_ms");
        for (Sample sample : this.samples) {
            StringBuilder line = new StringBuilder(String.format("%.3f,%s", seconds(sample.atNanos()),
                    sample.scenario().replace(',', ' ')));
            for (String name : names) {
                PoolReading reading = sample.reading(name);
                line.append(',');
                if (reading != null) {
                    line.append(reading.active()).append(',').append(reading.size()).append(',')
                        .append(reading.waiting()).append(',').append(reading.maxSize()).append(',')
                        .append(orEmpty(reading.grant())).append(',').append(orEmpty(reading.target())).append(',')
                        .append(orEmpty(reading.demand())).append(',').append(orEmpty(reading.partitioned()));
                }
                else {
                    line.append(",,,,,,,");
                }
            }
            line.append(',').append(sample.sumActive()).append(',')
                .append((sample.bound() == Integer.MAX_VALUE) ? "" : sample.bound()).append(',')
                .append(sample.partnerInFlight()).append(',').append(sample.partnerPeak()).append(',')
                .append(sample.staleReads()).append(',').append(String.format("%.1f", sample.spanNanos() / 1e6));
            lines.add(line.toString());
        }
        try {
            Files.write(file, lines);
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private static String orEmpty(Object value) {
        return (value != null) ? value.toString() : "";
    }

    @Override
    public void close() {
        this.scheduler.shutdownNow();
        try {
            this.scheduler.awaitTermination(2, TimeUnit.SECONDS);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private record Timed<T>(T value, long sentNanos, long receivedNanos) {
    }

    /**
     * One instance's pool, from {@code /actuator/pools/{name}}; the capacity fields are null until
     * the endpoint shows them.
     */
    record PoolReading(int active, int size, int idle, int waiting, int maxSize, Integer globalMaxSize,
            Integer grant, Integer target, Integer demand, Boolean partitioned, long readAtNanos) {

        static PoolReading of(JsonNode pool) {
            JsonNode capacity = pool.path("capacity");
            return new PoolReading(pool.path("active").asInt(), pool.path("size").asInt(), pool.path("idle").asInt(),
                    pool.path("waiting").asInt(), pool.path("maxSize").asInt(), integer(capacity, "globalMaxSize"),
                    integer(capacity, "grant"), integer(capacity, "target"), integer(capacity, "demand"),
                    capacity.path("partitioned").isBoolean() ? capacity.path("partitioned").booleanValue() : null, 0);
        }

        PoolReading at(long nanos) {
            return new PoolReading(this.active, this.size, this.idle, this.waiting, this.maxSize, this.globalMaxSize,
                    this.grant, this.target, this.demand, this.partitioned, nanos);
        }

        private static Integer integer(JsonNode node, String field) {
            JsonNode value = node.path(field);
            return value.isNumber() ? value.intValue() : null;
        }
    }

    /** One instance's view of the coordination, from {@code /actuator/pools}, read at {@code readAtNanos}. */
    record CoordinatorReading(String instanceId, boolean connected, boolean leader, long fencingToken, int members,
            long readAtNanos) {

        static CoordinatorReading of(JsonNode pools) {
            JsonNode coordinator = pools.path("coordinator");
            return new CoordinatorReading(pools.path("instance").asString(""),
                    coordinator.path("connected").asBoolean(false), coordinator.path("isLeader").asBoolean(false),
                    coordinator.path("fencingToken").asLong(0), coordinator.path("memberCount").asInt(0), 0);
        }

        CoordinatorReading at(long nanos) {
            return new CoordinatorReading(this.instanceId, this.connected, this.leader, this.fencingToken,
                    this.members, nanos);
        }
    }

    /** Whether a sample's reading of an instance is from this sample's poll, or an older one. */
    enum Freshness {
        FRESH, FROZEN, NO_ANSWER
    }

    record InstanceReading(PoolReading pool, Freshness freshness) {
    }

    /**
     * The cluster at one moment: each live instance's pool by name, Σ active, the bound in force,
     * the partner's calls in flight now and its peak since the previous sample, and how far apart
     * the instances' reads were.
     */
    record Sample(long atNanos, String scenario, Map<String, InstanceReading> instances, int sumActive, int bound,
            int partnerInFlight, int partnerPeak, int staleReads, long spanNanos) {

        /** The instance's pool in this sample, or null if it is not (or not yet, or no longer) in it. */
        PoolReading reading(String instanceName) {
            InstanceReading reading = this.instances.get(instanceName);
            return (reading != null) ? reading.pool() : null;
        }

        Integer sumGrant() {
            int sum = 0;
            for (InstanceReading reading : this.instances.values()) {
                if (reading.pool().grant() == null) {
                    return null;
                }
                sum += reading.pool().grant();
            }
            return sum;
        }

        String describeActive() {
            return this.instances.entrySet().stream().map((entry) -> {
                PoolReading pool = entry.getValue().pool();
                String note = switch (entry.getValue().freshness()) {
                    case FRESH -> "";
                    case FROZEN -> " (frozen: its last sample)";
                    case NO_ANSWER -> " (no answer: its last sample)";
                };
                return entry.getKey() + note + " active=" + pool.active()
                        + ((pool.grant() != null) ? " grant=" + pool.grant() : "");
            }).collect(Collectors.joining(", "));
        }
    }
}
