package io.pivotpool.redis;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import ch.qos.logback.classic.Level;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanIterator;
import io.pivotpool.coordinator.CapacityGrant;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.coordinator.support.RemoteText;
import io.pivotpool.testsupport.LogCapture;
import io.pivotpool.testsupport.redis.RedisServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.data.redis.connection.RedisConnection;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.awaitility.Awaitility.await;

/** What RedisCoordinator adds to the contract: its key layout, scripts, garbage handling and blocking pops. */
class RedisCoordinatorTests {

    private static final AtomicInteger namespaces = new AtomicInteger();

    @RegisterExtension
    static final RedisServer server = RedisServer.fixture();

    private static RawRedis raw;

    private final List<RedisCoordinator> coordinators = new ArrayList<>();

    private String namespace;

    private RedisCoordinator coordinator;

    @BeforeAll
    static void connectRaw() {
        raw = new RawRedis(server);
    }

    @AfterAll
    static void closeRaw() {
        raw.close();
    }

    @BeforeEach
    void createCoordinator() {
        this.namespace = "test" + namespaces.incrementAndGet();
        raw.establish(this.namespace);
        this.coordinator = newCoordinator(this.namespace);
        this.coordinator.connect();
    }

    @AfterEach
    void closeCoordinators() {
        this.coordinators.forEach(RedisCoordinator::close);
    }

    private RedisCoordinator newCoordinator(String namespace) {
        RedisCoordinator created = RedisCoordinator.create(RedisCoordinatorSettings.builder()
            .host(server.host())
            .port(server.port())
            .namespace(namespace)
            .timeout(Duration.ofSeconds(1))
            .build());
        this.coordinators.add(created);
        return created;
    }

    // ---- lifecycle ---------------------------------------------------------------------------

    @Test
    void connectShouldMarkTheCoordinatorConnectedAndCloseShouldNot() {
        assertThat(this.coordinator.name()).isEqualTo("redis");
        assertThat(this.coordinator.isConnected()).isTrue();
        this.coordinator.close();
        assertThat(this.coordinator.isConnected()).isFalse();
        assertThatExceptionOfType(CoordinatorException.class).isThrownBy(() -> this.coordinator.get("k"))
            .withMessageContaining("closed");
    }

    @Test
    void keysShouldAllLiveUnderTheNamespaceHashTag() {
        this.coordinator.register(instance("a"), Duration.ofSeconds(5));
        this.coordinator.tryAcquireLeadership("a", Duration.ofSeconds(5));
        this.coordinator.push("jobs", bytes("x"));
        this.coordinator.set("config", bytes("y"), null);
        this.coordinator.requestCapacity("renderers", "a", 3, 10, Duration.ofSeconds(5));
        List<String> keys = keysOf(this.namespace);
        assertThat(keys).containsExactlyInAnyOrder("{" + this.namespace + "}:members",
                "{" + this.namespace + "}:member:a", "{" + this.namespace + "}:members-version",
                "{" + this.namespace + "}:leader", "{" + this.namespace + "}:term",
                "{" + this.namespace + "}:leader-until", "{" + this.namespace + "}:q:jobs", "{" + this.namespace + "}:kv:config",
                "{" + this.namespace + "}:cap:renderers", "{" + this.namespace + "}:capx:renderers",
                "{" + this.namespace + "}:capsum:renderers");
    }

    @Test
    void namespacesShouldNotSeeEachOther() {
        RedisCoordinator other = newCoordinator(this.namespace + "-other");
        raw.establish(this.namespace + "-other");
        this.coordinator.set("k", bytes("mine"), null);
        this.coordinator.register(instance("a"), Duration.ofSeconds(5));
        this.coordinator.tryAcquireLeadership("a", Duration.ofSeconds(5));
        assertThat(other.get("k")).isEmpty();
        assertThat(other.liveInstances()).isEmpty();
        assertThat(other.tryAcquireLeadership("b", Duration.ofSeconds(5))).isPresent();
    }

    @Test
    void coordinatorShouldUseTheConfiguredDatabase() {
        RedisCoordinator onDatabase2 = RedisCoordinator.create(RedisCoordinatorSettings.builder()
            .host(server.host())
            .port(server.port())
            .database(2)
            .namespace(this.namespace)
            .build());
        this.coordinators.add(onDatabase2);
        onDatabase2.set("k", bytes("v"), null);
        onDatabase2.push("q", bytes("m"));
        assertThat(this.coordinator.get("k")).isEmpty();
        assertThat(onDatabase2.pop("q", Duration.ofMillis(100))).isPresent();
        assertThat(onDatabase2.get("k")).isPresent();
    }

    @Test
    void closingACoordinatorOnASharedFactoryShouldLeaveTheFactoryWorking() {
        LettuceConnectionFactory applicationFactory = new LettuceConnectionFactory(
                new RedisStandaloneConfiguration(server.host(), server.port()));
        applicationFactory.afterPropertiesSet();
        try {
            RedisCoordinator shared = RedisCoordinator.create(applicationFactory, this.namespace);
            shared.connect();
            shared.set("k", bytes("v"), null);
            assertThat(shared.pop("q", Duration.ofMillis(50))).isEmpty();
            shared.close();
            try (RedisConnection connection = applicationFactory.getConnection()) {
                assertThat(connection.stringCommands().get(bytes("{" + this.namespace + "}:kv:k"))).isEqualTo(bytes("v"));
            }
        }
        finally {
            applicationFactory.destroy();
        }
    }

    @Test
    void namespaceWithBracesShouldBeRejected() {
        assertThatIllegalArgumentException()
            .isThrownBy(() -> RedisCoordinatorSettings.builder().namespace("a{b}").build())
            .withMessageContaining("namespace");
    }

    @Test
    void settingsToStringShouldNotShowThePassword() {
        RedisCoordinatorSettings settings = RedisCoordinatorSettings.builder().password("s3cret-pw").build();
        assertThat(settings.toString()).doesNotContain("s3cret-pw").contains("password=******");
    }

    // ---- leadership --------------------------------------------------------------------------

    @Test
    void renewalShouldKeepTheTokenAndANewTermShouldRaiseIt() {
        LeaderLease first = this.coordinator.tryAcquireLeadership("a", Duration.ofSeconds(5)).orElseThrow();
        LeaderLease renewed = this.coordinator.tryAcquireLeadership("a", Duration.ofSeconds(5)).orElseThrow();
        assertThat(renewed.fencingToken()).isEqualTo(first.fencingToken());
        assertThat(this.coordinator.tryAcquireLeadership("b", Duration.ofSeconds(5))).isEmpty();
        assertThat(this.coordinator.releaseLeadership("a", first.fencingToken() + 1)).isFalse();
        assertThat(this.coordinator.releaseLeadership("b", first.fencingToken())).isFalse();
        assertThat(this.coordinator.releaseLeadership("a", first.fencingToken())).isTrue();
        LeaderLease next = this.coordinator.tryAcquireLeadership("b", Duration.ofSeconds(5)).orElseThrow();
        assertThat(next.fencingToken()).isGreaterThan(first.fencingToken());
        assertThat(this.coordinator.currentLeader()).contains(next);
    }

    @Test
    void leaseShouldExpireOnTheServerAfterItsTtl() {
        LeaderLease first = this.coordinator.tryAcquireLeadership("a", Duration.ofMillis(200)).orElseThrow();
        assertThat(raw.commands().pttl("{" + this.namespace + "}:leader")).isBetween(1L, 200L);
        await().atMost(Duration.ofSeconds(2)).until(() -> this.coordinator.currentLeader().isEmpty());
        LeaderLease next = this.coordinator.tryAcquireLeadership("b", Duration.ofSeconds(5)).orElseThrow();
        assertThat(next.fencingToken()).isGreaterThan(first.fencingToken());
    }

    @Test
    void tokensShouldKeepIncreasingWhenTheTermCounterIsLostAndNoTermShouldBeginForOneTtl() {
        Duration ttl = Duration.ofMillis(300);
        LeaderLease first = this.coordinator.tryAcquireLeadership("a", ttl).orElseThrow();
        // As after a restart without persistence: the counter and the lease are gone.
        raw.commands().del("{" + this.namespace + "}:term", "{" + this.namespace + "}:leader");
        long fencedAt = System.nanoTime();
        assertThat(this.coordinator.tryAcquireLeadership("b", ttl)).as("a term right after the loss").isEmpty();
        assertThat(this.coordinator.tryAcquireLeadership("a", ttl)).as("even for the last holder").isEmpty();
        assertThat(this.coordinator.currentLeader()).isEmpty();
        await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(10))
            .until(() -> this.coordinator.tryAcquireLeadership("b", ttl).isPresent());
        assertThat(Duration.ofNanos(System.nanoTime() - fencedAt)).isGreaterThanOrEqualTo(ttl.minusMillis(20));
        assertThat(this.coordinator.currentLeader().orElseThrow().fencingToken()).isGreaterThan(first.fencingToken());
    }

    // ---- membership --------------------------------------------------------------------------

    @Test
    void liveInstancesShouldListRegisteredInstancesByIdWithTheirFields() {
        InstanceInfo b = new InstanceInfo("b", "host-b", 2000L, Map.of("version", "1.2", "zone", "eu"));
        this.coordinator.register(b, Duration.ofSeconds(5));
        this.coordinator.register(instance("a"), Duration.ofSeconds(5));
        assertThat(this.coordinator.liveInstances()).containsExactly(instance("a"), b);
        this.coordinator.unregister("a");
        this.coordinator.unregister("never-registered");
        assertThat(this.coordinator.liveInstances()).containsExactly(b);
    }

    @Test
    void registrationShouldExpireUnlessRenewedAndBothIndexAndDataShouldGo() {
        this.coordinator.register(instance("a"), Duration.ofMillis(300));
        this.coordinator.register(instance("b"), Duration.ofMillis(300));
        for (int i = 0; i < 6; i++) {
            sleep(100);
            this.coordinator.heartbeat(instance("b"), Duration.ofMillis(300));
        }
        assertThat(this.coordinator.liveInstances()).extracting(InstanceInfo::id).containsExactly("b");
        assertThat(raw.commands().exists("{" + this.namespace + "}:member:a")).isZero();
        assertThat(raw.commands().zrange("{" + this.namespace + "}:members", 0, -1)).containsExactly("b");
    }

    @Test
    void heartbeatShouldRegisterAnInstanceAgainAfterItsEntryWasLost() {
        this.coordinator.register(instance("a"), Duration.ofSeconds(5));
        raw.commands().flushall();
        this.coordinator.heartbeat(instance("a"), Duration.ofSeconds(5));
        assertThat(this.coordinator.liveInstances()).containsExactly(instance("a"));
    }

    @Test
    void membersIndexShouldExpireWithinTwiceTheTtlOfItsLastMember() {
        this.coordinator.register(instance("a"), Duration.ofMillis(500));
        // Set to twice the ttl, so that the heartbeats of a fleet write it about once per ttl.
        assertThat(raw.commands().pttl("{" + this.namespace + "}:members")).isBetween(501L, 1000L);
        raw.commands().pexpire("{" + this.namespace + "}:members", 100);
        this.coordinator.heartbeat(instance("a"), Duration.ofMillis(500));
        assertThat(raw.commands().pttl("{" + this.namespace + "}:members")).isBetween(501L, 1000L);
        raw.commands().persist("{" + this.namespace + "}:members");
        this.coordinator.heartbeat(instance("a"), Duration.ofMillis(500));
        assertThat(raw.commands().pttl("{" + this.namespace + "}:members")).isBetween(501L, 1000L);
    }

    // ---- queues ------------------------------------------------------------------------------

    @Test
    void queueShouldBeFifoAndBinarySafe() {
        byte[] binary = { 0, (byte) 0xff, '\r', '\n', 0, 42 };
        this.coordinator.push("q", bytes("first"));
        this.coordinator.push("q", binary);
        this.coordinator.push("q", new byte[0]);
        assertThat(this.coordinator.pop("q")).hasValueSatisfying(m -> assertThat(m).isEqualTo(bytes("first")));
        assertThat(this.coordinator.pop("q", Duration.ofSeconds(1))).hasValueSatisfying(m -> assertThat(m).isEqualTo(binary));
        assertThat(this.coordinator.pop("q")).hasValueSatisfying(m -> assertThat(m).isEmpty());
        assertThat(this.coordinator.pop("q")).isEmpty();
    }

    @Test
    void blockingPopShouldReturnAMessagePushedWhileItWaits() throws Exception {
        CompletableFuture<Optional<byte[]>> popped = CompletableFuture
            .supplyAsync(() -> this.coordinator.pop("q", Duration.ofSeconds(5)));
        sleep(300);
        assertThat(popped).isNotDone();
        long pushedAt = System.nanoTime();
        this.coordinator.push("q", bytes("late"));
        assertThat(popped.get(2, TimeUnit.SECONDS)).hasValueSatisfying(m -> assertThat(m).isEqualTo(bytes("late")));
        assertThat(Duration.ofNanos(System.nanoTime() - pushedAt)).isLessThan(Duration.ofMillis(500));
    }

    @Test
    void blockingPopShouldWaitItsTimeoutEvenBeyondTheOperationTimeoutThenReturnEmpty() {
        long start = System.nanoTime();
        assertThat(this.coordinator.pop("empty", Duration.ofMillis(1500))).isEmpty();
        Duration waited = Duration.ofNanos(System.nanoTime() - start);
        assertThat(waited).isBetween(Duration.ofMillis(1450), Duration.ofMillis(2500));
        start = System.nanoTime();
        assertThat(this.coordinator.pop("empty", Duration.ofMillis(150))).isEmpty();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(100), Duration.ofMillis(900));
    }

    @Test
    void blockingPopShouldNotHoldUpOtherOperations() throws Exception {
        CompletableFuture<Optional<byte[]>> popped = CompletableFuture
            .supplyAsync(() -> this.coordinator.pop("q", Duration.ofSeconds(3)));
        sleep(200);
        long start = System.nanoTime();
        for (int i = 0; i < 20; i++) {
            this.coordinator.set("k", bytes("v" + i), null);
            this.coordinator.get("k");
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(500));
        assertThat(popped).isNotDone();
        this.coordinator.push("q", bytes("done"));
        assertThat(popped.get(2, TimeUnit.SECONDS)).isPresent();
    }

    @Test
    void closeShouldWakeABlockedPopWithNothing() throws Exception {
        CompletableFuture<Optional<byte[]>> popped = CompletableFuture
            .supplyAsync(() -> this.coordinator.pop("q", Duration.ofSeconds(10)));
        sleep(300);
        this.coordinator.close();
        assertThat(popped.get(2, TimeUnit.SECONDS)).isEmpty();
    }

    // ---- shared state ------------------------------------------------------------------------

    @Test
    void stateShouldExpireOnTheServerAfterItsTtl() {
        this.coordinator.set("k", bytes("v"), Duration.ofMillis(200));
        this.coordinator.set("forever", bytes("v"), null);
        assertThat(raw.commands().pttl("{" + this.namespace + "}:kv:k")).isBetween(1L, 200L);
        assertThat(raw.commands().pttl("{" + this.namespace + "}:kv:forever")).isEqualTo(-1L);
        await().atMost(Duration.ofSeconds(2)).until(() -> this.coordinator.get("k").isEmpty());
        assertThat(this.coordinator.delete("forever")).isTrue();
        assertThat(this.coordinator.delete("forever")).isFalse();
    }

    @Test
    void compareAndSetShouldCompareBytesExactly() {
        byte[] binary = { 0, 1, (byte) 0x80 };
        assertThat(this.coordinator.compareAndSet("k", bytes("x"), binary, null)).isFalse();
        assertThat(this.coordinator.compareAndSet("k", null, binary, null)).isTrue();
        assertThat(this.coordinator.compareAndSet("k", null, bytes("y"), null)).isFalse();
        assertThat(this.coordinator.compareAndSet("k", new byte[] { 0, 1 }, bytes("y"), null)).isFalse();
        assertThat(this.coordinator.compareAndSet("k", binary, bytes("y"), Duration.ofMillis(300))).isTrue();
        assertThat(raw.commands().pttl("{" + this.namespace + "}:kv:k")).isBetween(1L, 300L);
        assertThat(this.coordinator.compareAndSet("k", bytes("y"), null, null)).isTrue();
        assertThat(this.coordinator.get("k")).isEmpty();
    }

    @Test
    void aBoundedGetAllShouldLeaveAValuePlantedLargeOnTheServerAndWarnOnce() {
        String prefix = "{" + this.namespace + "}:kv:";
        raw.commands().set(prefix + "pivot.capacity:p:demand:small", "d1 3 8 2");
        raw.commands().set(prefix + "pivot.capacity:p:demand:planted", "x".repeat(8 * 1024 * 1024));
        raw.commands().hset(prefix + "pivot.capacity:p:demand:hash", "f", "a hash");
        List<String> keys = List.of("pivot.capacity:p:demand:planted", "pivot.capacity:p:demand:small",
                "pivot.capacity:p:demand:hash", "pivot.capacity:p:demand:missing");
        try (LogCapture logs = LogCapture.everything()) {
            long sentBefore = bytesSent();
            for (int i = 0; i < 5; i++) {
                assertThat(this.coordinator.getAll(keys, 128)).containsOnlyKeys("pivot.capacity:p:demand:small");
            }
            long sent = bytesSent() - sentBefore;
            System.out.printf("RedisCoordinatorTests: 5 bounded reads beside an 8 MiB planted value: Redis sent %d "
                    + "bytes%n", sent);
            assertThat(sent).as("bytes Redis sent for five reads (and the two INFO replies)").isLessThan(64 * 1024);
            assertThat(logs.messages(Level.WARN)).as("one warning per bad key, however many reads see it")
                .filteredOn(w -> w.contains(prefix + "pivot.capacity:p:demand:"))
                .hasSize(2)
                .anyMatch(w -> w.contains("planted") && w.contains("8388608 bytes, more than the 128"))
                .anyMatch(w -> w.contains(prefix + "pivot.capacity:p:demand:hash") && w.contains("not a value"));
        }
        assertThat(this.coordinator.getAll(keys)).as("the unbounded read still reads it")
            .containsKey("pivot.capacity:p:demand:planted");
    }

    /** What Redis has sent to its clients since it started. */
    private static long bytesSent() {
        return raw.commands().info("stats").lines()
            .filter(line -> line.startsWith("total_net_output_bytes:"))
            .mapToLong(line -> Long.parseLong(line.substring(line.indexOf(':') + 1).trim()))
            .findFirst()
            .orElseThrow();
    }

    // ---- capacity ----------------------------------------------------------------------------

    @Test
    void grantsShouldNeverSumAboveTheCapAndExpiredGrantsShouldFreeTheirShare() {
        CapacityGrant a = this.coordinator.requestCapacity("p", "a", 6, 10, Duration.ofMillis(300));
        CapacityGrant b = this.coordinator.requestCapacity("p", "b", 6, 10, Duration.ofSeconds(5));
        assertThat(a.granted()).isEqualTo(6);
        assertThat(b.granted()).isEqualTo(4);
        assertThat(b.totalGranted()).isEqualTo(10);
        assertThat(this.coordinator.requestCapacity("p", "c", 1, 10, Duration.ofSeconds(5)).granted()).isZero();
        assertThat(this.coordinator.capacity("p").grants()).containsEntry("a", 6).containsEntry("b", 4);
        // A grant is written for twice its ttl (RedisScripts.grantLeaseMillis).
        sleep(RedisScripts.grantLeaseMillis(300) + 100);
        assertThat(this.coordinator.capacity("p").grants()).doesNotContainKey("a").containsEntry("b", 4);
        assertThat(this.coordinator.requestCapacity("p", "b", 8, 10, Duration.ofSeconds(5)).granted()).isEqualTo(8);
        this.coordinator.releaseCapacity("p", "b");
        assertThat(this.coordinator.capacity("p").total()).isZero();
    }

    // ---- garbage -----------------------------------------------------------------------------

    @Test
    void aRoundShouldReadItsValuesBoundedAndLeaveOutWhatIsTooLargeOrNotAValue() {
        String prefix = "{" + this.namespace + "}:kv:";
        this.coordinator.set("small", bytes("t1 7 3"), null);
        this.coordinator.set("empty", new byte[0], null);
        raw.commands().set(prefix + "large", "x".repeat(RedisScripts.MAX_ROUND_VALUE_BYTES + 1));
        raw.commands().set(prefix + "at-the-bound", "y".repeat(RedisScripts.MAX_ROUND_VALUE_BYTES));
        raw.commands().rpush(prefix + "list", "a list");
        try (LogCapture logs = LogCapture.everything()) {
            io.pivotpool.coordinator.SyncRound.Reply reply = this.coordinator.round(new io.pivotpool.coordinator.SyncRound(
                    instance("a"), Duration.ofMinutes(1), null, false, Map.of(), null, List.of(),
                    List.of("small", "empty", "large", "at-the-bound", "list", "missing")));
            assertThat(reply.values()).containsOnlyKeys("small", "empty", "at-the-bound");
            assertThat(reply.values().get("small")).isEqualTo(bytes("t1 7 3"));
            assertThat(reply.values().get("empty")).isEmpty();
            assertThat(reply.values().get("at-the-bound")).hasSize(RedisScripts.MAX_ROUND_VALUE_BYTES);
            assertThat(logs.messages(Level.WARN)).anyMatch(w -> w.contains(prefix + "large") && w.contains("a round reads"))
                .anyMatch(w -> w.contains(prefix + "list") && w.contains("not a value"));
        }
        assertThat(raw.commands().strlen(prefix + "large")).as("left as it is, unread")
            .isEqualTo(RedisScripts.MAX_ROUND_VALUE_BYTES + 1);
    }

    @Test
    void aRoundReadingMoreValuesThanOnePageShouldReturnEachUnderItsOwnKey() {
        // The round reads in pages of 512 (RedisScripts.ROUND): every value must come back under
        // its key across the pages' edges, the absent and the refused ones left out.
        String prefix = "{" + this.namespace + "}:kv:";
        List<String> reads = new java.util.ArrayList<>();
        for (int i = 0; i < 1300; i++) {
            reads.add("k" + i);
            if (i % 3 == 0) {
                this.coordinator.set("k" + i, bytes("v" + i), null);
            }
            else if (i % 7 == 0) {
                raw.commands().rpush(prefix + "k" + i, "a list");
            }
        }
        try (LogCapture logs = LogCapture.everything()) {
            io.pivotpool.coordinator.SyncRound.Reply reply = this.coordinator.round(new io.pivotpool.coordinator.SyncRound(
                    instance("a"), Duration.ofMinutes(1), null, false, Map.of(), null, List.of(), reads));
            assertThat(reply.values()).hasSize(434);
            for (int i = 0; i < 1300; i += 3) {
                assertThat(reply.values().get("k" + i)).as("k" + i).isEqualTo(bytes("v" + i));
            }
            assertThat(logs.messages(Level.WARN)).anyMatch(w -> w.contains(prefix + "k7") && w.contains("not a value"));
        }
    }

    @Test
    void garbageInTheCoordinatorsOwnKeysShouldBeSkippedWithOneWarningEach() {
        String prefix = "{" + this.namespace + "}:";
        raw.commands().set(prefix + "leader", "not a lease");
        raw.commands().set(prefix + "members", "not an index");
        raw.commands().sadd(prefix + "q:jobs", "a set");
        raw.commands().hset(prefix + "kv:k", "a", "hash");
        raw.commands().hset(prefix + "cap:p", Map.of("x", "lots", "y", "2:" + (System.currentTimeMillis() + 60_000)));
        try (LogCapture logs = LogCapture.everything()) {
            for (int i = 0; i < 3; i++) {
                assertThat(this.coordinator.currentLeader()).isEmpty();
                assertThat(this.coordinator.liveInstances()).isEmpty();
                assertThat(this.coordinator.pop("jobs")).isEmpty();
                assertThat(this.coordinator.pop("jobs", Duration.ofMillis(50))).isEmpty();
                assertThat(this.coordinator.get("k")).isEmpty();
                assertThat(this.coordinator.compareAndSet("k", null, bytes("v"), null)).isFalse();
            }
            assertThat(this.coordinator.capacity("p").grants()).containsOnlyKeys("y");
            assertThatExceptionOfType(CoordinatorException.class)
                .isThrownBy(() -> this.coordinator.push("jobs", bytes("x")))
                .withMessageContaining(prefix + "q:jobs")
                .withMessageContaining("not a queue");
            List<String> warnings = logs.messages(Level.WARN);
            assertThat(warnings).hasSize(5);
            assertThat(warnings).anyMatch(w -> w.contains(prefix + "leader"))
                .anyMatch(w -> w.contains(prefix + "members"))
                .anyMatch(w -> w.contains(prefix + "q:jobs"))
                .anyMatch(w -> w.contains(prefix + "kv:k"))
                .anyMatch(w -> w.contains(prefix + "cap:p") && w.contains("holder x"));
        }
        // The bookkeeping keys are rebuilt by the next write; a garbage lease first fences leadership for one ttl.
        assertThat(this.coordinator.tryAcquireLeadership("a", Duration.ofMillis(200))).isEmpty();
        await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(10))
            .until(() -> this.coordinator.tryAcquireLeadership("a", Duration.ofSeconds(5)).isPresent());
        this.coordinator.register(instance("a"), Duration.ofSeconds(5));
        assertThat(this.coordinator.liveInstances()).containsExactly(instance("a"));
    }

    @Test
    void garbageWarningsShouldBeRateLimitedPerKeyAndRepeatedAfterTheInterval() {
        this.coordinator.garbageWarningInterval(Duration.ofMillis(300));
        String key = "{" + this.namespace + "}:kv:k";
        raw.commands().hset(key, "a", "hash");
        try (LogCapture logs = LogCapture.everything()) {
            for (int i = 0; i < 5; i++) {
                assertThat(this.coordinator.get("k")).isEmpty();
            }
            // The coordinator's own warnings: a client of another test may still log its reconnections.
            String own = RedisCoordinator.class.getPackageName();
            assertThat(logs.messages(Level.WARN, own)).hasSize(1).allMatch(warning -> warning.contains(key));
            sleep(350);
            assertThat(this.coordinator.get("k")).isEmpty();
            assertThat(this.coordinator.get("k")).isEmpty();
            assertThat(logs.messages(Level.WARN, own)).as("the same key, still bad, after the interval").hasSize(2);
        }
    }

    @Test
    void remoteTextShouldReachLogsAndExceptionsWithControlCharactersEscaped() {
        assertThat(RemoteText.escape("a\nb\r\tc\u0000\u001b[31m\u2028")).isEqualTo("a\\nb\\r\\tc\\u0000\\u001b[31m\\u2028");
        assertThat(RemoteText.escape("x".repeat(300))).startsWith("x".repeat(256)).endsWith("(44 more chars)");
        this.coordinator.close();
        assertThatExceptionOfType(CoordinatorException.class)
            .isThrownBy(() -> this.coordinator.push("q\nERROR forged", new byte[0]))
            .satisfies(ex -> assertThat(ex.getMessage()).doesNotContain("\n").contains("q\\nERROR forged"));
    }

    @Test
    void numbersShouldBePlainDecimalLongsAndCountsShouldSaturate() {
        assertThat(RedisCoordinator.decimalLong("9223372036854775807")).isEqualTo(Long.MAX_VALUE);
        for (String bad : List.of("1e5", "inf", "nan", "0x10", "-1", "+1", "007", " 5", "9223372036854775808", "")) {
            assertThatIllegalArgumentException().as(bad).isThrownBy(() -> RedisCoordinator.decimalLong(bad));
        }
        assertThat(RedisCoordinator.saturatedInt(3_000_000_000L)).isEqualTo(Integer.MAX_VALUE);
        assertThat(RedisCoordinator.saturatedInt(Long.MIN_VALUE)).isZero();
    }

    @Test
    void garbageMemberEntriesShouldBeSkippedAndOthersListed() {
        String prefix = "{" + this.namespace + "}:";
        this.coordinator.register(instance("a"), Duration.ofSeconds(5));
        this.coordinator.register(instance("b"), Duration.ofSeconds(5));
        this.coordinator.register(instance("c"), Duration.ofSeconds(5));
        raw.commands().del(prefix + "member:b");
        raw.commands().set(prefix + "member:b", "not a hash");
        raw.commands().hset(prefix + "member:c", "startedAt", "yesterday");
        try (LogCapture logs = LogCapture.everything()) {
            assertThat(this.coordinator.liveInstances()).containsExactly(instance("a"));
            assertThat(this.coordinator.liveInstances()).containsExactly(instance("a"));
            assertThat(logs.messages(Level.WARN)).hasSize(2);
        }
        // Both were dropped, so their owners' next heartbeats write them anew (a heartbeat of an
        // unchanged instance only extends its hash, which would otherwise keep the planted field).
        this.coordinator.heartbeat(instance("b"), Duration.ofSeconds(5));
        this.coordinator.heartbeat(instance("c"), Duration.ofSeconds(5));
        assertThat(this.coordinator.liveInstances()).containsExactly(instance("a"), instance("b"), instance("c"));
    }

    @Test
    void aHeartbeatWithAnotherTtlShouldRewriteTheRegistration() {
        this.coordinator.register(instance("a"), Duration.ofSeconds(5));
        this.coordinator.heartbeat(instance("a"), Duration.ofSeconds(30));
        assertThat(raw.commands().hget("{" + this.namespace + "}:member:a", "ttl")).isEqualTo("30000");
        assertThat(this.coordinator.liveInstances()).containsExactly(instance("a"));
    }

    @Test
    void garbageTermCounterShouldStillYieldAGreaterToken() {
        LeaderLease first = this.coordinator.tryAcquireLeadership("a", Duration.ofSeconds(5)).orElseThrow();
        this.coordinator.releaseLeadership("a", first.fencingToken());
        raw.commands().set("{" + this.namespace + "}:term", "garbage");
        assertThat(this.coordinator.tryAcquireLeadership("b", Duration.ofMillis(200))).isEmpty();
        await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(10))
            .until(() -> this.coordinator.tryAcquireLeadership("b", Duration.ofSeconds(5)).isPresent());
        LeaderLease next = this.coordinator.currentLeader().orElseThrow();
        assertThat(next.fencingToken()).isGreaterThan(first.fencingToken());
    }

    // ---- argument checks ---------------------------------------------------------------------

    @Test
    void invalidArgumentsShouldBeRejectedBeforeAnyCall() {
        assertThatIllegalArgumentException().isThrownBy(() -> this.coordinator.set("k", bytes("v"), Duration.ZERO));
        assertThatIllegalArgumentException()
            .isThrownBy(() -> this.coordinator.register(instance("a"), Duration.ofMillis(-1)));
        assertThatIllegalArgumentException().isThrownBy(() -> this.coordinator.pop("q", Duration.ofMillis(-1)));
        assertThatIllegalArgumentException()
            .isThrownBy(() -> this.coordinator.requestCapacity("p", "a", -1, 10, Duration.ofSeconds(1)));
    }

    @Test
    void aListingShouldReadTheMembersAgainOnlyWhenTheMembershipChanged() {
        Duration ttl = Duration.ofMinutes(1);
        List<InstanceInfo> others = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            others.add(instance("x" + i));
            this.coordinator.register(others.get(i), ttl);
        }
        this.coordinator.register(instance("a"), ttl);
        this.coordinator.register(instance("b"), ttl);
        assertThat(this.coordinator.liveInstances()).hasSize(22).contains(instance("a"), instance("b"));
        long reads = memberReads();
        assertThat(this.coordinator.liveInstances()).hasSize(22);
        this.coordinator.heartbeat(instance("b"), ttl);
        assertThat(this.coordinator.liveInstances()).hasSize(22);
        // Calls in quick succession read a member or so each again, not all 22.
        assertThat(memberReads() - reads).as("members read while nothing changed").isBetween(1L, 4L);
        others.forEach(other -> this.coordinator.unregister(other.id()));
        assertThat(this.coordinator.liveInstances()).containsExactly(instance("a"), instance("b"));

        RedisCoordinator other = newCoordinator(this.namespace);
        InstanceInfo moved = new InstanceInfo("b", "host-b2", 2000L, Map.of("app", "test", "zone", "z2"));
        other.heartbeat(moved, ttl);
        assertThat(this.coordinator.liveInstances()).as("fields changed").containsExactly(instance("a"), moved);
        other.register(instance("c"), ttl);
        assertThat(this.coordinator.liveInstances()).as("joined").containsExactly(instance("a"), moved, instance("c"));
        other.unregister("c");
        assertThat(this.coordinator.liveInstances()).as("left").containsExactly(instance("a"), moved);
        other.register(instance("d"), Duration.ofMillis(300));
        assertThat(this.coordinator.liveInstances()).as("joined").containsExactly(instance("a"), moved, instance("d"));
        await().atMost(Duration.ofSeconds(5))
            .untilAsserted(() -> assertThat(this.coordinator.liveInstances()).as("expired")
                .containsExactly(instance("a"), moved));
        assertThat(memberReads()).as("members read after each change").isGreaterThan(reads);
    }

    @Test
    void aHashChangedOrRemovedByHandShouldBeSeenOnceItsTurnToBeReadAgainComes() {
        Duration ttl = Duration.ofMinutes(1);
        for (String id : List.of("a", "b", "c")) {
            this.coordinator.register(instance(id), ttl);
        }
        assertThat(this.coordinator.liveInstances()).containsExactly(instance("a"), instance("b"), instance("c"));
        raw.commands().hset("{" + this.namespace + "}:member:b", "host", "moved-by-hand");
        InstanceInfo moved = new InstanceInfo("b", "moved-by-hand", instance("b").startedAtMillis(), instance("b").metadata());
        // Each call reads at least one member again, in turn: within three calls, b's.
        List<InstanceInfo> listed = List.of();
        for (int call = 0; call < 3 && !listed.contains(moved); call++) {
            listed = this.coordinator.liveInstances();
        }
        assertThat(listed).containsExactly(instance("a"), moved, instance("c"));
        raw.commands().del("{" + this.namespace + "}:member:c");
        for (int call = 0; call < 3 && listed.size() == 3; call++) {
            listed = this.coordinator.liveInstances();
        }
        assertThat(listed).containsExactly(instance("a"), moved);
    }

    @Test
    void connectingToARedisThatEvictsKeysShouldWarnOnceNamingThePolicyAndShowItInTheDetails() {
        try (LogCapture logs = LogCapture.everything()) {
            RedisCoordinator safe = newCoordinator(this.namespace);
            assertThat(safe.details()).as("before connecting").isEmpty();
            safe.connect();
            assertThat(safe.details()).containsExactly(Map.entry("maxmemoryPolicy", "noeviction"));
            assertThat(logs.messages(Level.WARN)).as("on noeviction").noneMatch(line -> line.contains("maxmemory-policy"));
            raw.commands().configSet("maxmemory-policy", "volatile-lru");
            RedisCoordinator evicting = newCoordinator(this.namespace);
            evicting.connect();
            evicting.connect();
            assertThat(logs.messages(Level.WARN)).filteredOn(line -> line.contains("maxmemory-policy"))
                .singleElement().asString().contains("volatile-lru").contains("noeviction");
            assertThat(evicting.details()).containsExactly(Map.entry("maxmemoryPolicy", "volatile-lru"));
        }
        finally {
            raw.commands().configSet("maxmemory-policy", "noeviction");
        }
    }

    /** How many instance hashes scripts have read whole so far (HGETALL, which only a full listing runs). */
    private static long memberReads() {
        for (String line : raw.commands().info("commandstats").split("\r?\n")) {
            if (line.startsWith("cmdstat_hgetall:")) {
                return Long.parseLong(line.replaceAll("^cmdstat_hgetall:calls=(\\d+),.*$", "$1"));
            }
        }
        return 0;
    }

    private static List<String> keysOf(String namespace) {
        List<String> keys = new ArrayList<>();
        ScanIterator.scan(raw.commands(), ScanArgs.Builder.matches("*")).forEachRemaining(keys::add);
        return keys.stream().filter(key -> key.startsWith("{" + namespace + "}")).toList();
    }

    static InstanceInfo instance(String id) {
        return new InstanceInfo(id, "host-" + id, 1000L, Map.of("app", "test"));
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }
}
