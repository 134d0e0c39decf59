package io.pivotpool.testsupport.contract;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

import io.pivotpool.coordinator.CapacityGrant;
import io.pivotpool.coordinator.CapacityView;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.coordinator.SyncRound;
import io.pivotpool.coordinator.support.CoordinatorArguments;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/**
 * The promises every {@link Coordinator} keeps, as tests. A backend's test class extends this one
 * (or {@link MultiInstanceCoordinatorContract}, when several coordinators can share one backend)
 * and says how to make a coordinator:
 *
 * <pre>{@code
 * class RedisCoordinatorTests extends MultiInstanceCoordinatorContract {
 *
 *     @Override
 *     protected Coordinator createCoordinator(String namespace) {
 *         return new RedisCoordinator(connectionFactory, namespace);
 *     }
 * }
 * }</pre>
 *
 * <p>Each test gets a fresh, connected coordinator under a namespace of its own, so tests never
 * see each other's keys even on a shared server. Expiry is tested with a {@link #shortTtl() short
 * TTL} (1 s; a backend with coarser leases overrides it) and polled for, so a precise backend
 * finishes quickly; an entry must never vanish before its TTL.
 */
public abstract class CoordinatorContract {

    /** A TTL long enough never to run out during a test. */
    protected static final Duration LONG_TTL = Duration.ofMinutes(1);

    /** How much earlier than its TTL an entry may vanish: clock granularity, nothing more. */
    private static final Duration EARLY_EXPIRY_SLACK = Duration.ofMillis(50);

    private final List<Coordinator> coordinators = new ArrayList<>();

    private String namespace;

    private Coordinator coordinator;

    /**
     * Creates a coordinator of the backend under test, not yet connected, whose keys all live
     * under {@code namespace}. Coordinators created for the same namespace must share their data,
     * as the instances of one application do.
     */
    protected abstract Coordinator createCoordinator(String namespace);

    /** The TTL expiry is tested with; override for a backend whose leases are coarser. */
    protected Duration shortTtl() {
        return Duration.ofSeconds(1);
    }

    /** How long after its TTL an expired entry may still be seen. */
    protected Duration expiryTolerance() {
        return Duration.ofSeconds(2);
    }

    /**
     * How long a released grant's share may go on counting against the others' requests: none by
     * default (a release frees it at once). A coordinator whose ledger keeps a running sum that a
     * release leaves as it was (etcd) frees the share at the next reconcile, which a request granted
     * less than it asked for starts within about a second.
     */
    protected Duration releaseTolerance() {
        return Duration.ZERO;
    }

    /**
     * Whether the coordinator under test reaps: gives back a non-member's grant in
     * {@link Coordinator#releaseCapacityOfNonMember}. By default, whether its class implements that
     * method (one that keeps the interface's default never reaps, and must keep every grant); a
     * member's grant must never be given back either way.
     */
    protected boolean reapsGrantsOfNonMembers() {
        try {
            return coordinator().getClass().getMethod("releaseCapacityOfNonMember", String.class, String.class)
                .getDeclaringClass() != Coordinator.class;
        }
        catch (NoSuchMethodException ex) {
            throw new IllegalStateException("Coordinator declares releaseCapacityOfNonMember", ex);
        }
    }

    @BeforeEach
    void connectFreshCoordinator() {
        this.namespace = "pivot-contract:" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        this.coordinator = connectedCoordinator(this.namespace);
    }

    @AfterEach
    void closeCoordinators() {
        for (Coordinator created : this.coordinators) {
            try {
                created.close();
            }
            catch (RuntimeException ex) {
                // a close that fails must not hide the test's own outcome
            }
        }
        this.coordinators.clear();
    }

    /** The coordinator of the running test, connected. */
    protected final Coordinator coordinator() {
        return this.coordinator;
    }

    /** The running test's namespace. */
    protected final String namespace() {
        return this.namespace;
    }

    /** Creates and connects a coordinator for {@code namespace}; it is closed after the test. */
    protected final Coordinator connectedCoordinator(String namespace) {
        Coordinator created = createCoordinator(namespace);
        this.coordinators.add(created);
        created.connect();
        return created;
    }

    // ---- membership limits -----------------------------------------------------------------

    @Test
    void anInstanceEveryBackendCouldNotStoreIsRefusedAndOneAtTheLimitIsRegistered() {
        InstanceInfo tooLarge = new InstanceInfo("big", "h", 1L,
                java.util.Map.of("note", "x".repeat(CoordinatorArguments.MAX_INSTANCE_BYTES)));
        assertThatIllegalArgumentException().isThrownBy(() -> coordinator().register(tooLarge, LONG_TTL))
            .withMessageContaining("can be registered");
        java.util.Map<String, String> many = new java.util.HashMap<>();
        for (int i = 0; new InstanceInfo("many", "h", 1L, many).toFields().size()
                <= CoordinatorArguments.MAX_INSTANCE_FIELDS; i++) {
            many.put("f" + i, "v");
        }
        assertThatIllegalArgumentException()
            .isThrownBy(() -> coordinator().register(new InstanceInfo("many", "h", 1L, many), LONG_TTL));
        many.remove(many.keySet().iterator().next());
        coordinator().register(new InstanceInfo("at-limit", "h", 1L, many), LONG_TTL);
        assertThat(coordinator().liveInstances()).extracting(InstanceInfo::id).contains("at-limit")
            .doesNotContain("big", "many");
    }

    // ---- lifecycle -------------------------------------------------------------------------

    @Test
    void nameIsABackendName() {
        assertThat(coordinator().name()).matches("[A-Za-z0-9._-]+");
    }

    @Test
    void connectedCoordinatorSaysSoAndConnectingAgainChangesNothing() {
        assertThat(coordinator().isConnected()).isTrue();
        coordinator().set("k", bytes("v"), null);
        coordinator().connect();
        assertThat(coordinator().isConnected()).isTrue();
        assertThat(text(coordinator().get("k"))).contains("v");
    }

    @Test
    void closeCanBeCalledTwice() {
        Coordinator created = connectedCoordinator(namespace());
        created.close();
        created.close();
    }

    // ---- membership ------------------------------------------------------------------------

    @Test
    void registeredInstancesAreLiveAndOrderedById() {
        coordinator().register(instance("c"), LONG_TTL);
        coordinator().register(instance("a"), LONG_TTL);
        coordinator().register(instance("b"), LONG_TTL);
        assertThat(coordinator().liveInstances()).extracting(InstanceInfo::id).containsExactly("a", "b", "c");
    }

    @Test
    void registrationKeepsEveryFieldOfTheInstance() {
        InstanceInfo instance = new InstanceInfo("node 1:äö*{x}", "host-1.example", 1_700_000_000_123L,
                Map.of("application", "renderer", "version", "1.2.3", "odd key: = ", "Grüße\nzwei Zeilen", "empty", ""));
        coordinator().register(instance, LONG_TTL);
        assertThat(coordinator().liveInstances()).containsExactly(instance);
    }

    @Test
    void heartbeatReplacesTheInstanceInfo() {
        coordinator().register(instance("a"), LONG_TTL);
        InstanceInfo updated = new InstanceInfo("a", "other-host", 42L, Map.of("state", "draining"));
        coordinator().heartbeat(updated, LONG_TTL);
        assertThat(coordinator().liveInstances()).containsExactly(updated);
    }

    @Test
    void registrationExpiresAfterItsTtlUnlessRenewedByHeartbeat() {
        Duration ttl = shortTtl();
        long start = System.nanoTime();
        coordinator().register(instance("renewed"), ttl);
        coordinator().register(instance("forgotten"), ttl);
        sleep(ttl.dividedBy(2));
        assertThat(liveIds()).as("instances live before their TTL").containsExactly("forgotten", "renewed");
        coordinator().heartbeat(instance("renewed"), ttl);
        awaitExpiry(start, ttl, () -> !liveIds().contains("forgotten"), "registration of 'forgotten'");
        assertThat(liveIds()).as("instance renewed by heartbeat").containsExactly("renewed");
    }

    @Test
    void heartbeatRegistersAnExpiredInstanceAgain() {
        Duration ttl = shortTtl();
        long start = System.nanoTime();
        coordinator().register(instance("a"), ttl);
        awaitExpiry(start, ttl, () -> liveIds().isEmpty(), "registration of 'a'");
        coordinator().heartbeat(instance("a"), LONG_TTL);
        assertThat(liveIds()).containsExactly("a");
    }

    @Test
    void unregisterRemovesTheInstanceAtOnceAndIgnoresUnknownIds() {
        coordinator().register(instance("a"), LONG_TTL);
        coordinator().register(instance("b"), LONG_TTL);
        coordinator().unregister("a");
        coordinator().unregister("never-registered");
        assertThat(liveIds()).containsExactly("b");
    }

    // ---- leadership ------------------------------------------------------------------------

    @Test
    void nobodyLeadsAtFirst() {
        assertThat(coordinator().currentLeader()).isEmpty();
    }

    @Test
    void firstCandidateLeadsWithAPositiveFencingToken() {
        Optional<LeaderLease> lease = coordinator().tryAcquireLeadership("a", LONG_TTL);
        assertThat(lease).hasValueSatisfying(granted -> {
            assertThat(granted.holderId()).isEqualTo("a");
            assertThat(granted.fencingToken()).isPositive();
            assertThat(granted.ttlMillis()).isPositive().isLessThanOrEqualTo(LONG_TTL.toMillis());
        });
        assertThat(term(coordinator().currentLeader())).contains(term(lease.get()));
    }

    @Test
    void anotherCandidateCannotLeadWhileTheLeaseIsHeld() {
        LeaderLease lease = coordinator().tryAcquireLeadership("a", LONG_TTL).orElseThrow();
        assertThat(coordinator().tryAcquireLeadership("b", LONG_TTL)).isEmpty();
        assertThat(term(coordinator().currentLeader())).contains(term(lease));
    }

    @Test
    void renewalKeepsTheFencingToken() {
        LeaderLease first = coordinator().tryAcquireLeadership("a", LONG_TTL).orElseThrow();
        LeaderLease renewed = coordinator().tryAcquireLeadership("a", LONG_TTL).orElseThrow();
        assertThat(renewed.fencingToken()).isEqualTo(first.fencingToken());
        assertThat(renewed.holderId()).isEqualTo("a");
    }

    @Test
    void everyNewTermHasAGreaterFencingToken() {
        long previous = 0;
        for (String candidate : List.of("a", "b", "a", "a", "c")) {
            LeaderLease lease = coordinator().tryAcquireLeadership(candidate, LONG_TTL).orElseThrow();
            assertThat(lease.fencingToken()).as("token of a new term of %s", candidate).isGreaterThan(previous);
            previous = lease.fencingToken();
            assertThat(coordinator().releaseLeadership(candidate, lease.fencingToken())).isTrue();
        }
    }

    @Test
    void releaseFreesLeadership() {
        LeaderLease lease = coordinator().tryAcquireLeadership("a", LONG_TTL).orElseThrow();
        assertThat(coordinator().releaseLeadership("a", lease.fencingToken())).isTrue();
        assertThat(coordinator().currentLeader()).isEmpty();
        assertThat(coordinator().releaseLeadership("a", lease.fencingToken())).as("second release").isFalse();
    }

    @Test
    void releaseWithAStaleTokenOrByAnotherInstanceDoesNothing() {
        LeaderLease oldTerm = coordinator().tryAcquireLeadership("a", LONG_TTL).orElseThrow();
        coordinator().releaseLeadership("a", oldTerm.fencingToken());
        LeaderLease newTerm = coordinator().tryAcquireLeadership("a", LONG_TTL).orElseThrow();
        assertThat(coordinator().releaseLeadership("a", oldTerm.fencingToken())).as("release with stale token")
                .isFalse();
        assertThat(coordinator().releaseLeadership("b", newTerm.fencingToken())).as("release by non-holder")
                .isFalse();
        assertThat(term(coordinator().currentLeader())).contains(term(newTerm));
    }

    @Test
    void leadershipLapsesAfterItsTtlUnlessRenewedAndThenAnotherCandidateLeadsInANewTerm() {
        Duration ttl = shortTtl();
        long start = System.nanoTime();
        LeaderLease first = coordinator().tryAcquireLeadership("a", ttl).orElseThrow();
        sleep(ttl.dividedBy(2));
        long renewedAt = System.nanoTime();
        assertThat(coordinator().tryAcquireLeadership("a", ttl)).as("renewal before the TTL").isPresent();
        sleep(ttl.dividedBy(2).plusMillis(100));
        assertThat(term(coordinator().currentLeader())).as("leader past its first TTL, renewed")
                .contains(term(first));
        assertThat(coordinator().tryAcquireLeadership("b", ttl)).as("candidate while the renewed lease holds")
                .isEmpty();
        awaitExpiry(renewedAt, ttl, () -> coordinator().currentLeader().isEmpty(), "renewed leadership");
        assertThat(System.nanoTime() - start).isGreaterThan(ttl.toNanos());
        LeaderLease second = coordinator().tryAcquireLeadership("b", LONG_TTL).orElseThrow();
        assertThat(second.holderId()).isEqualTo("b");
        assertThat(second.fencingToken()).isGreaterThan(first.fencingToken());
        assertThat(coordinator().releaseLeadership("a", first.fencingToken())).as("release of a lapsed term")
                .isFalse();
        assertThat(term(coordinator().currentLeader())).contains(term(second));
    }

    @Test
    void concurrentCandidatesElectExactlyOneLeader() throws Exception {
        List<Optional<LeaderLease>> outcomes = race(8, candidate -> coordinator()
                .tryAcquireLeadership("candidate-" + candidate, LONG_TTL));
        List<LeaderLease> leases = outcomes.stream().flatMap(Optional::stream).toList();
        assertThat(leases).hasSize(1);
        assertThat(term(coordinator().currentLeader())).contains(term(leases.get(0)));
    }

    // ---- queues ----------------------------------------------------------------------------

    @Test
    void popReturnsMessagesInTheOrderTheyWerePushed() {
        for (int i = 0; i < 5; i++) {
            coordinator().push("jobs", bytes("job-" + i));
        }
        for (int i = 0; i < 5; i++) {
            assertThat(text(coordinator().pop("jobs"))).contains("job-" + i);
        }
        assertThat(coordinator().pop("jobs")).isEmpty();
    }

    @Test
    void queuesAreIndependent() {
        coordinator().push("left", bytes("l"));
        coordinator().push("right", bytes("r"));
        assertThat(text(coordinator().pop("right"))).contains("r");
        assertThat(coordinator().pop("right")).isEmpty();
        assertThat(text(coordinator().pop("left"))).contains("l");
    }

    @Test
    void popOfAnEmptyQueueReturnsAtOnce() {
        long start = System.nanoTime();
        assertThat(coordinator().pop("empty")).isEmpty();
        assertThat(coordinator().pop("empty", Duration.ZERO)).as("blocking pop with a zero timeout").isEmpty();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(500));
    }

    @Test
    void blockingPopReturnsAWaitingMessageAtOnce() {
        coordinator().push("jobs", bytes("ready"));
        long start = System.nanoTime();
        assertThat(text(coordinator().pop("jobs", Duration.ofSeconds(5)))).contains("ready");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(500));
    }

    @Test
    void blockingPopWaitsForItsTimeoutWhenNothingArrives() {
        Duration timeout = Duration.ofMillis(300);
        long start = System.nanoTime();
        assertThat(coordinator().pop("empty", timeout)).isEmpty();
        Duration waited = Duration.ofNanos(System.nanoTime() - start);
        assertThat(waited).isGreaterThanOrEqualTo(timeout.minus(EARLY_EXPIRY_SLACK))
                .isLessThan(timeout.plusSeconds(2));
    }

    @Test
    void blockingPopIsWokenByAPush() throws Exception {
        assertBlockingPopIsWokenByPush(coordinator(), coordinator());
    }

    /** A pop blocked on {@code popper} returns soon after a push through {@code pusher}. */
    protected final void assertBlockingPopIsWokenByPush(Coordinator popper, Coordinator pusher) throws Exception {
        ExecutorService executor = Executors.newSingleThreadExecutor();
        try {
            CountDownLatch popping = new CountDownLatch(1);
            Future<Optional<byte[]>> popped = executor.submit(() -> {
                popping.countDown();
                return popper.pop("wake", Duration.ofSeconds(10));
            });
            popping.await();
            sleep(Duration.ofMillis(200));
            assertThat(popped).as("pop still waiting before the push").isNotDone();
            long pushedAt = System.nanoTime();
            pusher.push("wake", bytes("up"));
            assertThat(text(popped.get(5, TimeUnit.SECONDS))).contains("up");
            assertThat(Duration.ofNanos(System.nanoTime() - pushedAt)).as("wake-up delay")
                    .isLessThan(Duration.ofSeconds(2));
        }
        finally {
            executor.shutdownNow();
        }
    }

    @Test
    void messagesAreBinarySafe() {
        coordinator().push("binary", everyByte());
        coordinator().push("binary", new byte[0]);
        assertThat(coordinator().pop("binary")).hasValueSatisfying(value -> assertThat(value).isEqualTo(everyByte()));
        assertThat(coordinator().pop("binary", Duration.ofSeconds(1)))
                .hasValueSatisfying(value -> assertThat(value).isEmpty());
    }

    @Test
    void concurrentConsumersReceiveEveryMessageExactlyOnce() throws Exception {
        List<String> pushed = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            pushed.add("m" + i);
            coordinator().push("shared", bytes("m" + i));
        }
        List<List<String>> received = race(4, consumer -> {
            List<String> mine = new ArrayList<>();
            Optional<byte[]> message;
            while ((message = coordinator().pop("shared")).isPresent()) {
                mine.add(new String(message.get(), StandardCharsets.UTF_8));
            }
            return mine;
        });
        assertThat(received.stream().flatMap(List::stream)).containsExactlyInAnyOrderElementsOf(pushed);
        for (List<String> mine : received) {
            assertThat(mine).as("one consumer's messages keep the queue's order")
                    .isSortedAccordingTo((x, y) -> Integer.compare(number(x), number(y)));
        }
    }

    // ---- shared state ----------------------------------------------------------------------

    @Test
    void setValueCanBeReadBackAndOverwritten() {
        assertThat(coordinator().get("k")).isEmpty();
        coordinator().set("k", bytes("one"), null);
        assertThat(text(coordinator().get("k"))).contains("one");
        coordinator().set("k", bytes("two"), LONG_TTL);
        assertThat(text(coordinator().get("k"))).contains("two");
    }

    @Test
    void valuesAreBinarySafe() {
        coordinator().set("binary", everyByte(), null);
        coordinator().set("empty", new byte[0], null);
        assertThat(coordinator().get("binary")).hasValueSatisfying(value -> assertThat(value).isEqualTo(everyByte()));
        assertThat(coordinator().get("empty")).hasValueSatisfying(value -> assertThat(value).isEmpty());
        assertThat(coordinator().compareAndSet("binary", everyByte(), new byte[] { 0, (byte) 0xff }, null)).isTrue();
        assertThat(coordinator().get("binary"))
                .hasValueSatisfying(value -> assertThat(value).containsExactly(0, 0xff));
    }

    @Test
    void deleteRemovesTheKeyAndSaysWhetherItExisted() {
        coordinator().set("k", bytes("v"), null);
        assertThat(coordinator().delete("k")).isTrue();
        assertThat(coordinator().get("k")).isEmpty();
        assertThat(coordinator().delete("k")).isFalse();
    }

    @Test
    void keysWithOddCharactersAreKeptApart() {
        List<String> keys = List.of("plain", "with space", "a:b", "a:b:", ":a:b", "*", "a*", "?", "[x]", "{tag}",
                "{tag}k", "ключ", "emoji-\uD83D\uDE00", "line\nbreak", "tab\tx", "..", "../etc", "a\\b", "%2F",
                "\"quoted\"", "pivot:pools:plain");
        for (String key : keys) {
            coordinator().set(key, bytes("value of " + key), null);
            coordinator().push(key, bytes("message of " + key));
        }
        for (String key : keys) {
            assertThat(text(coordinator().get(key))).as("value of %s", key).contains("value of " + key);
            assertThat(text(coordinator().pop(key))).as("queue %s", key).contains("message of " + key);
        }
        assertThat(coordinator().delete("a:b")).isTrue();
        assertThat(coordinator().get("a:b:")).as("neighbour of a deleted key").isPresent();
        coordinator().register(instance("id with space:*{x}"), LONG_TTL);
        assertThat(liveIds()).containsExactly("id with space:*{x}");
        CapacityGrant grant = coordinator().requestCapacity("pool {x}:*", "id with space:*{x}", 3, 5, LONG_TTL);
        assertThat(grant.granted()).isEqualTo(3);
        assertThat(coordinator().capacity("pool {x}:*").grants()).containsEntry("id with space:*{x}", 3);
    }

    @Test
    void valueWithATtlExpiresAndValueWithoutOneStays() {
        Duration ttl = shortTtl();
        long start = System.nanoTime();
        coordinator().set("expiring", bytes("soon gone"), ttl);
        coordinator().set("made-permanent", bytes("first"), ttl);
        coordinator().set("made-permanent", bytes("second"), null);
        assertThat(coordinator().compareAndSet("cas-expiring", null, bytes("cas"), ttl)).isTrue();
        awaitExpiry(start, ttl, () -> coordinator().get("expiring").isEmpty(), "value of 'expiring'");
        awaitExpiry(start, ttl, () -> coordinator().get("cas-expiring").isEmpty(),
                "value set by compareAndSet with a TTL");
        assertThat(text(coordinator().get("made-permanent"))).as("value overwritten without a TTL")
                .contains("second");
        assertThat(coordinator().compareAndSet("expiring", null, bytes("again"), null))
                .as("compareAndSet on an expired key sees it absent").isTrue();
    }

    @Test
    void compareAndSetWithAbsentExpectationCreatesOnlyAMissingKey() {
        assertThat(coordinator().compareAndSet("k", null, bytes("first"), null)).isTrue();
        assertThat(coordinator().compareAndSet("k", null, bytes("second"), null)).isFalse();
        assertThat(text(coordinator().get("k"))).contains("first");
    }

    @Test
    void compareAndSetReplacesOnlyAMatchingValue() {
        coordinator().set("k", bytes("current"), null);
        assertThat(coordinator().compareAndSet("k", bytes("other"), bytes("lost"), null)).isFalse();
        assertThat(coordinator().compareAndSet("k", bytes("curren"), bytes("lost"), null)).as("prefix").isFalse();
        assertThat(text(coordinator().get("k"))).contains("current");
        assertThat(coordinator().compareAndSet("k", bytes("current"), bytes("next"), LONG_TTL)).isTrue();
        assertThat(text(coordinator().get("k"))).contains("next");
        assertThat(coordinator().compareAndSet("missing", bytes("anything"), bytes("x"), null)).isFalse();
        assertThat(coordinator().get("missing")).isEmpty();
    }

    @Test
    void compareAndSetWithANullNewValueDeletes() {
        coordinator().set("k", bytes("v"), null);
        assertThat(coordinator().compareAndSet("k", bytes("wrong"), null, null)).isFalse();
        assertThat(coordinator().get("k")).isPresent();
        assertThat(coordinator().compareAndSet("k", bytes("v"), null, null)).isTrue();
        assertThat(coordinator().get("k")).isEmpty();
    }

    @Test
    void concurrentCompareAndSetLosesNoUpdate() throws Exception {
        assertConcurrentIncrementsAreAtomic(List.of(coordinator(), coordinator()));
    }

    /** Increments one counter from several threads through {@code coordinators} with compare-and-set. */
    protected final void assertConcurrentIncrementsAreAtomic(List<Coordinator> coordinators) throws Exception {
        int threads = 4;
        int increments = 25;
        race(threads, thread -> {
            Coordinator through = coordinators.get(thread % coordinators.size());
            for (int i = 0; i < increments; i++) {
                boolean done = false;
                while (!done) {
                    Optional<byte[]> current = through.get("counter");
                    int value = current.map(bytes -> Integer.parseInt(new String(bytes, StandardCharsets.UTF_8)))
                        .orElse(0);
                    done = through.compareAndSet("counter", current.orElse(null), bytes(Integer.toString(value + 1)),
                            null);
                }
            }
            return increments; // a race task returns something; the counter is what is checked
        });
        assertThat(text(coordinators.get(0).get("counter"))).contains(Integer.toString(threads * increments));
    }

    @Test
    void nonPositiveTtlsAreRejected() {
        for (Duration ttl : List.of(Duration.ZERO, Duration.ofSeconds(-1))) {
            assertThatIllegalArgumentException().isThrownBy(() -> coordinator().set("k", bytes("v"), ttl));
            assertThatIllegalArgumentException()
                .isThrownBy(() -> coordinator().compareAndSet("k", null, bytes("v"), ttl));
            assertThatIllegalArgumentException().isThrownBy(() -> coordinator().register(instance("a"), ttl));
            assertThatIllegalArgumentException().isThrownBy(() -> coordinator().heartbeat(instance("a"), ttl));
            assertThatIllegalArgumentException().isThrownBy(() -> coordinator().tryAcquireLeadership("a", ttl));
            assertThatIllegalArgumentException()
                .isThrownBy(() -> coordinator().requestCapacity("p", "a", 1, 10, ttl));
        }
        assertThat(coordinator().get("k")).as("nothing written by a rejected call").isEmpty();
        assertThat(coordinator().liveInstances()).isEmpty();
        assertThat(coordinator().currentLeader()).isEmpty();
        assertThat(coordinator().capacity("p").grants()).isEmpty();
    }

    // ---- capacity --------------------------------------------------------------------------

    @Test
    void requestWithinTheCapIsGrantedInFull() {
        CapacityGrant grant = coordinator().requestCapacity("renderers", "a", 4, 10, LONG_TTL);
        assertThat(grant).isEqualTo(new CapacityGrant("renderers", "a", 4, 4, 10, false));
        assertThat(coordinator().capacity("renderers")).isEqualTo(new CapacityView("renderers", Map.of("a", 4), 4));
    }

    @Test
    void aLoneInstanceCanBeGrantedTheWholeCap() {
        assertThat(coordinator().requestCapacity("renderers", "a", 10, 10, LONG_TTL).granted()).isEqualTo(10);
        assertThat(coordinator().requestCapacity("renderers", "a", 50, 10, LONG_TTL).granted()).isEqualTo(10);
    }

    @Test
    void requestBeyondWhatIsLeftIsGrantedPartiallyAndNeverAboveTheCap() {
        assertThat(coordinator().requestCapacity("p", "a", 7, 10, LONG_TTL).granted()).isEqualTo(7);
        CapacityGrant partial = coordinator().requestCapacity("p", "b", 5, 10, LONG_TTL);
        assertThat(partial).isEqualTo(new CapacityGrant("p", "b", 3, 10, 10, false));
        assertThat(coordinator().requestCapacity("p", "c", 1, 10, LONG_TTL).granted()).as("nothing left").isZero();
        CapacityView view = coordinator().capacity("p");
        assertThat(view.total()).isEqualTo(10);
        assertThat(view.grants()).containsEntry("a", 7).containsEntry("b", 3);
    }

    @Test
    void requestingAgainReplacesTheInstancesOwnGrant() {
        coordinator().requestCapacity("p", "a", 7, 10, LONG_TTL);
        CapacityGrant smaller = coordinator().requestCapacity("p", "a", 2, 10, LONG_TTL);
        assertThat(smaller).isEqualTo(new CapacityGrant("p", "a", 2, 2, 10, true));
        assertThat(coordinator().requestCapacity("p", "b", 8, 10, LONG_TTL).granted()).isEqualTo(8);
    }

    @Test
    void aGrantIsReportedRenewedOnlyWhileTheBackendStillHoldsThePreviousOne() throws Exception {
        assertThat(coordinator().requestCapacity("p", "a", 3, 10, LONG_TTL).renewed()).as("first request").isFalse();
        assertThat(coordinator().requestCapacity("p", "a", 3, 10, LONG_TTL).renewed()).as("renewal").isTrue();
        coordinator().releaseCapacity("p", "a");
        assertThat(coordinator().requestCapacity("p", "a", 3, 10, LONG_TTL).renewed()).as("after a release").isFalse();
        Duration ttl = shortTtl();
        long start = System.nanoTime();
        coordinator().requestCapacity("q", "a", 3, 10, ttl);
        awaitExpiry(start, ttl, () -> !coordinator().capacity("q").grants().containsKey("a"), "the grant");
        assertThat(coordinator().requestCapacity("q", "a", 3, 10, LONG_TTL).renewed()).as("after it expired").isFalse();
    }

    @Test
    void releaseFreesTheShareForOthers() {
        coordinator().requestCapacity("p", "a", 10, 10, LONG_TTL);
        assertThat(coordinator().requestCapacity("p", "b", 4, 10, LONG_TTL).granted()).isZero();
        coordinator().releaseCapacity("p", "a");
        coordinator().releaseCapacity("p", "never-granted");
        assertThat(coordinator().capacity("p").grants()).doesNotContainKey("a");
        assertGrantedOnceReleased(() -> coordinator().requestCapacity("p", "b", 4, 10, LONG_TTL).granted(), 4);
    }

    /**
     * A request made after a release is granted {@code expected}: at once, or, within
     * {@link #releaseTolerance}, by one of the requests made again and again meanwhile, as rounds make them.
     */
    private void assertGrantedOnceReleased(IntSupplier request, int expected) {
        long deadline = System.nanoTime() + releaseTolerance().toNanos();
        int granted = request.getAsInt();
        while (granted != expected && System.nanoTime() - deadline < 0) {
            sleep(Duration.ofMillis(50));
            granted = request.getAsInt();
        }
        assertThat(granted).as("granted after a release (within %s)", releaseTolerance()).isEqualTo(expected);
    }

    @Test
    void aMembersGrantIsNeverReapedAsANonMembers() {
        coordinator().register(new InstanceInfo("a", "h", 1L, Map.of()), LONG_TTL);
        coordinator().requestCapacity("p", "a", 6, 10, LONG_TTL);
        assertThat(coordinator().releaseCapacityOfNonMember("p", "a")).as("released").isFalse();
        assertThat(coordinator().capacity("p")).isEqualTo(new CapacityView("p", Map.of("a", 6), 6));
        assertThat(coordinator().requestCapacity("p", "b", 10, 10, LONG_TTL).granted()).isEqualTo(4);
    }

    @Test
    void aNonMembersGrantIsReapedWithItsShareOrKeptByACoordinatorThatDoesNotReap() {
        coordinator().register(new InstanceInfo("a", "h", 1L, Map.of()), LONG_TTL);
        coordinator().requestCapacity("p", "a", 3, 10, LONG_TTL);
        coordinator().requestCapacity("p", "stranger", 7, 10, LONG_TTL);
        coordinator().register(new InstanceInfo("gone", "h", 1L, Map.of()), LONG_TTL);
        coordinator().requestCapacity("q", "gone", 5, 10, LONG_TTL);
        coordinator().unregister("gone");
        boolean reaps = reapsGrantsOfNonMembers();
        assertThat(coordinator().releaseCapacityOfNonMember("p", "stranger")).as("released a stranger's").isEqualTo(reaps);
        assertThat(coordinator().releaseCapacityOfNonMember("q", "gone")).as("released a leaver's").isEqualTo(reaps);
        assertThat(coordinator().releaseCapacityOfNonMember("p", "never-granted")).as("released none").isFalse();
        if (reaps) {
            assertThat(coordinator().capacity("p")).isEqualTo(new CapacityView("p", Map.of("a", 3), 3));
            assertThat(coordinator().capacity("q")).isEqualTo(new CapacityView("q", Map.of(), 0));
            assertThat(coordinator().requestCapacity("p", "b", 10, 10, LONG_TTL).granted()).isEqualTo(7);
        }
        else {
            assertThat(coordinator().capacity("p").grants()).containsEntry("stranger", 7);
            assertThat(coordinator().capacity("q").grants()).containsEntry("gone", 5);
        }
    }

    @Test
    void capacityOfPoolsIsKeptApart() {
        coordinator().requestCapacity("left", "a", 10, 10, LONG_TTL);
        assertThat(coordinator().requestCapacity("right", "a", 10, 10, LONG_TTL).granted()).isEqualTo(10);
        assertThat(coordinator().capacity("left").total()).isEqualTo(10);
        assertThat(coordinator().capacity("unknown")).isEqualTo(new CapacityView("unknown", Map.of(), 0));
    }

    @Test
    void expiredGrantFreesItsShare() {
        Duration ttl = shortTtl();
        long start = System.nanoTime();
        coordinator().requestCapacity("p", "a", 10, 10, ttl);
        assertThat(coordinator().requestCapacity("p", "b", 10, 10, LONG_TTL).granted()).isZero();
        awaitExpiry(start, ttl, () -> !coordinator().capacity("p").grants().containsKey("a"), "grant of 'a'");
        assertThat(coordinator().requestCapacity("p", "b", 10, 10, LONG_TTL).granted()).isEqualTo(10);
    }

    @Test
    void anExpiredGrantFreesItsShareForTheNextRequestWithoutAnyReadOfTheView() {
        Duration ttl = shortTtl();
        long start = System.nanoTime();
        coordinator().requestCapacity("reaped", "a", 6, 10, ttl);
        coordinator().requestCapacity("reaped", "c", 3, 10, LONG_TTL);
        assertThat(coordinator().requestCapacity("reaped", "b", 10, 10, LONG_TTL).granted()).isEqualTo(1);
        // Only requests, as rounds make them: the expired grant must stop counting by itself.
        awaitExpiry(start, ttl, () -> coordinator().requestCapacity("reaped", "b", 10, 10, LONG_TTL).granted() == 7,
                "grant of 'a' counted by requests");
        coordinator().releaseCapacity("reaped", "c");
        assertGrantedOnceReleased(() -> coordinator().requestCapacity("reaped", "b", 10, 10, LONG_TTL).granted(), 10);
        assertThat(coordinator().capacity("reaped")).isEqualTo(new CapacityView("reaped", Map.of("b", 10), 10));
    }

    @Test
    void getAllReadsWhatGetWouldAndLeavesOutAbsentKeys() {
        coordinator().set("a", bytes("first"), null);
        coordinator().set("with space:*{x}", new byte[0], LONG_TTL);
        coordinator().set("c", everyByte(), null);
        Map<String, byte[]> values = coordinator().getAll(List.of("c", "missing", "with space:*{x}", "a"));
        assertThat(values.keySet()).containsExactly("c", "with space:*{x}", "a");
        assertThat(values.get("c")).isEqualTo(everyByte());
        assertThat(values.get("with space:*{x}")).isEmpty();
        assertThat(new String(values.get("a"), StandardCharsets.UTF_8)).isEqualTo("first");
        assertThat(coordinator().getAll(List.of())).isEmpty();
    }

    @Test
    void aBoundedGetAllLeavesOutLongerValuesAndKeepsEverythingElse() {
        coordinator().set("small", bytes("abc"), null);
        coordinator().set("exact", new byte[10], LONG_TTL);
        coordinator().set("longer", new byte[11], LONG_TTL);
        coordinator().set("empty", new byte[0], LONG_TTL);
        coordinator().set("every", everyByte(), null);
        Map<String, byte[]> values = coordinator().getAll(List.of("longer", "missing", "exact", "small", "empty",
                "every"), 10);
        assertThat(values.keySet()).containsExactly("exact", "small", "empty");
        assertThat(values.get("small")).containsExactly(bytes("abc"));
        assertThat(values.get("exact")).hasSize(10);
        assertThat(values.get("empty")).isEmpty();
        assertThat(coordinator().getAll(List.of("every", "longer"), everyByte().length).keySet())
            .containsExactly("every", "longer");
        assertThat(coordinator().getAll(List.of(), 10)).isEmpty();
        assertThatIllegalArgumentException().isThrownBy(() -> coordinator().getAll(List.of("small"), -1))
            .withMessageContaining("maxValueBytes");
    }

    @Test
    void getAllAndSetAllHandleMoreKeysThanOneBatch() {
        Map<String, byte[]> written = new java.util.LinkedHashMap<>();
        for (int i = 0; i < 1500; i++) {
            written.put("many:" + i, bytes("value " + i));
        }
        coordinator().setAll(written, LONG_TTL);
        List<String> keys = new ArrayList<>(written.keySet());
        Collections.reverse(keys);
        assertReadsExactly(keys, written);
    }

    /**
     * Keys sharing a prefix by the hundred (a leader reads every member's demand report of a pool)
     * may be read with one range over it (etcd does): only the keys asked for come back, with
     * their own values, whatever else lies under the prefix and however the names are escaped.
     */
    @Test
    void getAllOfManyKeysUnderOnePrefixReturnsOnlyTheKeysAskedFor() {
        Map<String, byte[]> written = new java.util.LinkedHashMap<>();
        for (int i = 0; i < 300; i++) {
            written.put("shared:demand:" + i, bytes("value " + i));
        }
        written.put("shared:demand:a/b", bytes("slash"));
        written.put("shared:demand:a%2Fb", bytes("escaped slash"));
        written.put("shared:demand:a%2fb", bytes("lower-case escape"));
        written.put("shared:demand:", bytes("the prefix itself"));
        coordinator().setAll(written, LONG_TTL);
        List<String> asked = new ArrayList<>();
        for (int i = 0; i < 300; i += 2) {
            asked.add("shared:demand:" + i);
        }
        asked.addAll(List.of("shared:demand:a/b", "shared:demand:a%2fb", "shared:demand:missing", "shared:demand:1x"));
        assertReadsExactly(asked, written);
    }

    /** Far more keys under the prefix than asked for: the read stays bounded and still correct. */
    @Test
    void getAllOfSomeKeysUnderACrowdedPrefixReturnsThem() {
        Map<String, byte[]> written = new java.util.LinkedHashMap<>();
        for (int i = 0; i < 1200; i++) {
            written.put("crowded:" + i, bytes("value " + i));
        }
        coordinator().setAll(written, LONG_TTL);
        List<String> asked = new ArrayList<>();
        for (int i = 0; i < 1200; i += 12) {
            asked.add("crowded:" + i);
        }
        assertReadsExactly(asked, written);
    }

    /**
     * The same many keys read again and again (a leader reads every member's report each round):
     * every read sees every change since the one before, however a backend saves itself work
     * between reads (reading only what changed, say): a value rewritten, keys deleted, a key
     * deleted while another is added (the count stays the same), a value that expired.
     */
    @Test
    void getAllOfManyKeysUnderOnePrefixSeesEveryChangeBetweenReads() {
        Map<String, byte[]> written = new java.util.LinkedHashMap<>();
        for (int i = 0; i < 200; i++) {
            written.put("seen:demand:" + i, bytes("value " + i));
        }
        coordinator().setAll(written, LONG_TTL);
        List<String> asked = new ArrayList<>(written.keySet());
        asked.add("seen:demand:added");
        assertReadsExactly(asked, written);
        assertReadsExactly(asked, written);
        written.put("seen:demand:5", bytes("rewritten"));
        coordinator().set("seen:demand:5", bytes("rewritten"), LONG_TTL);
        assertReadsExactly(asked, written);
        written.remove("seen:demand:7");
        assertThat(coordinator().delete("seen:demand:7")).isTrue();
        assertReadsExactly(asked, written);
        written.remove("seen:demand:8");
        assertThat(coordinator().delete("seen:demand:8")).isTrue();
        written.put("seen:demand:added", bytes("added"));
        coordinator().set("seen:demand:added", bytes("added"), LONG_TTL);
        assertReadsExactly(asked, written);
        long start = System.nanoTime();
        written.put("seen:demand:9", bytes("short-lived"));
        coordinator().set("seen:demand:9", bytes("short-lived"), shortTtl());
        assertReadsExactly(asked, written);
        awaitExpiry(start, shortTtl(), () -> !coordinator().getAll(asked).containsKey("seen:demand:9"),
                "a value read with many others");
        written.remove("seen:demand:9");
        assertReadsExactly(asked, written);
    }

    /** {@code getAll(asked)} returns exactly the keys of {@code asked} that {@code written} holds, in order, with their values. */
    private void assertReadsExactly(List<String> asked, Map<String, byte[]> written) {
        Map<String, byte[]> read = coordinator().getAll(asked);
        List<String> present = asked.stream().filter(written::containsKey).toList();
        assertThat(read.keySet()).containsExactlyElementsOf(present);
        present.forEach(key -> assertThat(read.get(key)).as(key).isEqualTo(written.get(key)));
    }

    @Test
    void setAllWritesEveryValueWithItsTtl() {
        Duration ttl = shortTtl();
        long start = System.nanoTime();
        coordinator().set("b", bytes("old"), null);
        coordinator().setAll(Map.of("a", bytes("one"), "b", bytes("two")), ttl);
        assertThat(text(coordinator().get("a"))).contains("one");
        assertThat(text(coordinator().get("b"))).contains("two");
        awaitExpiry(start, ttl, () -> coordinator().getAll(List.of("a", "b")).isEmpty(), "values set by setAll");
        coordinator().setAll(Map.of(), ttl);
        assertThatIllegalArgumentException().isThrownBy(() -> coordinator().setAll(Map.of("a", bytes("x")), Duration.ZERO));
    }

    @Test
    void liveInstanceCountCountsWhatLiveInstancesLists() {
        assertThat(coordinator().liveInstanceCount()).isZero();
        coordinator().register(instance("a"), LONG_TTL);
        long start = System.nanoTime();
        coordinator().register(instance("b"), shortTtl());
        coordinator().register(instance("c"), LONG_TTL);
        assertThat(coordinator().liveInstanceCount()).isEqualTo(3);
        coordinator().unregister("c");
        assertThat(coordinator().liveInstanceCount()).isEqualTo(2);
        awaitExpiry(start, shortTtl(), () -> coordinator().liveInstanceCount() == 1, "registration of 'b' in the count");
        assertThat(coordinator().liveInstanceCount()).isEqualTo(coordinator().liveInstances().size());
    }

    @Test
    void negativeRequestsAreRejected() {
        assertThatIllegalArgumentException().isThrownBy(() -> coordinator().requestCapacity("p", "a", -1, 10, LONG_TTL));
        assertThatIllegalArgumentException().isThrownBy(() -> coordinator().requestCapacity("p", "a", 1, -1, LONG_TTL));
    }

    @Test
    void concurrentRequestsNeverGrantMoreThanTheCap() throws Exception {
        assertConcurrentGrantsStayWithinCap(List.of(coordinator()));
    }

    /** Many instances request shares of one pool at once through {@code coordinators}. */
    protected final void assertConcurrentGrantsStayWithinCap(List<Coordinator> coordinators) throws Exception {
        int cap = 20;
        List<List<CapacityGrant>> grants = race(8, thread -> {
            Coordinator through = coordinators.get(thread % coordinators.size());
            List<CapacityGrant> mine = new ArrayList<>();
            for (int round = 0; round < 10; round++) {
                mine.add(through.requestCapacity("contended", "instance-" + thread, 1 + (round * 3 + thread) % 7, cap,
                        LONG_TTL));
                if (round % 4 == 3) {
                    through.releaseCapacity("contended", "instance-" + thread);
                }
            }
            return mine;
        });
        for (List<CapacityGrant> mine : grants) {
            for (CapacityGrant grant : mine) {
                assertThat(grant.granted()).isBetween(0, cap);
                assertThat(grant.totalGranted()).as("total at the time of a grant").isLessThanOrEqualTo(cap);
            }
        }
        CapacityView view = coordinators.get(0).capacity("contended");
        assertThat(view.total()).isLessThanOrEqualTo(cap);
        assertThat(view.grants().values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(view.total());
        for (List<CapacityGrant> mine : grants) {
            CapacityGrant last = mine.get(mine.size() - 1);
            assertThat(view.grants().get(last.instanceId())).as("last grant of %s", last.instanceId())
                    .isEqualTo(last.granted());
        }
    }

    // ---- a follower's round -----------------------------------------------------------------

    @Test
    void aRoundDoesWhatItsStepsDoOneByOne() {
        coordinator().register(instance("b"), LONG_TTL);
        coordinator().set("target:a", bytes("its target"), LONG_TTL);
        coordinator().requestCapacity("p", "b", 6, 10, LONG_TTL);
        SyncRound.Reply reply = coordinator().round(new SyncRound(instance("a"), LONG_TTL, LONG_TTL, true,
                Map.of("report:a", bytes("its report")), LONG_TTL,
                List.of(new SyncRound.CapacityRequest("p", 7, 10, LONG_TTL),
                        new SyncRound.CapacityRequest("q", 2, 5, LONG_TTL)),
                List.of("target:a", "missing")));
        assertThat(coordinator().liveInstances()).containsExactly(instance("a"), instance("b"));
        assertThat(reply.memberCount()).isEqualTo(2);
        assertThat(term(reply.leader())).as("the lease the round found").isEqualTo(term(coordinator().currentLeader()));
        assertThat(text(coordinator().get("report:a"))).contains("its report");
        assertThat(reply.grants()).containsExactly(new CapacityGrant("p", "a", 4, 10, 10, false),
                new CapacityGrant("q", "a", 2, 2, 5, false));
        assertThat(coordinator().capacity("p").grants()).isEqualTo(Map.of("a", 4, "b", 6));
        assertThat(reply.values()).containsOnlyKeys("target:a");
        assertThat(new String(reply.values().get("target:a"), StandardCharsets.UTF_8)).isEqualTo("its target");
        SyncRound.Reply again = coordinator().round(new SyncRound(instance("a"), LONG_TTL, LONG_TTL, false, Map.of(),
                null, List.of(new SyncRound.CapacityRequest("p", 7, 10, LONG_TTL)), List.of()));
        assertThat(again.memberCount()).as("not counted").isEqualTo(-1);
        assertThat(again.grants()).containsExactly(new CapacityGrant("p", "a", 4, 10, 10, true));
        assertThat(again.values()).isEmpty();
    }

    @Test
    void aRoundSeeksLeadershipAsSeekLeadershipDoesOrOnlyReadsTheLeader() {
        LeaderLease held = coordinator().tryAcquireLeadership("b", LONG_TTL).orElseThrow();
        SyncRound follower = new SyncRound(instance("a"), LONG_TTL, LONG_TTL, false, Map.of(), null, List.of(),
                List.of());
        assertThat(term(coordinator().round(follower).leader())).contains(term(held));
        assertThat(coordinator().releaseLeadership("b", held.fencingToken())).isTrue();
        SyncRound reader = new SyncRound(instance("a"), LONG_TTL, null, false, Map.of(), null, List.of(), List.of());
        assertThat(coordinator().round(reader).leader()).as("a round without a leader ttl only reads").isEmpty();
        assertThat(coordinator().currentLeader()).isEmpty();
        LeaderLease won = coordinator().round(follower).leader().orElseThrow();
        assertThat(won.holderId()).isEqualTo("a");
        assertThat(won.fencingToken()).isGreaterThan(held.fencingToken());
        assertThat(term(coordinator().round(reader).leader())).contains(term(won));
        assertThat(term(coordinator().round(follower).leader())).as("renewed, same term").contains(term(won));
    }

    @Test
    void aRoundRejectsWhatItsStepsReject() {
        assertThatIllegalArgumentException().isThrownBy(() -> coordinator().round(new SyncRound(instance("a"), LONG_TTL,
                null, false, Map.of(), null, List.of(new SyncRound.CapacityRequest("p", -1, 10, LONG_TTL)), List.of())));
        assertThatIllegalArgumentException().isThrownBy(() -> new SyncRound(instance("a"), Duration.ZERO, null, false,
                Map.of(), null, List.of(), List.of()));
        assertThatIllegalArgumentException().isThrownBy(() -> new SyncRound(instance("a"), LONG_TTL, null, false,
                Map.of("k", bytes("v")), Duration.ZERO, List.of(), List.of()));
    }

    @Test
    void concurrentRoundsNeverGrantMoreThanTheCap() throws Exception {
        assertConcurrentRoundsStayWithinCap(List.of(coordinator()));
    }

    /** Many instances run rounds that request shares of two pools at once through {@code coordinators}. */
    protected final void assertConcurrentRoundsStayWithinCap(List<Coordinator> coordinators) throws Exception {
        int cap = 20;
        List<List<CapacityGrant>> grants = race(8, thread -> {
            Coordinator through = coordinators.get(thread % coordinators.size());
            List<CapacityGrant> mine = new ArrayList<>();
            for (int round = 0; round < 10; round++) {
                int wanted = 1 + (round * 3 + thread) % 7;
                mine.addAll(through.round(new SyncRound(instance("instance-" + thread), LONG_TTL, LONG_TTL, false,
                        Map.of(), null, List.of(new SyncRound.CapacityRequest("contended", wanted, cap, LONG_TTL),
                                new SyncRound.CapacityRequest("other", 7 - wanted, cap / 2, LONG_TTL)),
                        List.of())).grants());
            }
            return mine;
        });
        for (String pool : List.of("contended", "other")) {
            int poolCap = pool.equals("contended") ? cap : cap / 2;
            for (List<CapacityGrant> mine : grants) {
                for (CapacityGrant grant : mine) {
                    if (grant.pool().equals(pool)) {
                        assertThat(grant.totalGranted()).as("total of %s at the time of a grant", pool)
                                .isLessThanOrEqualTo(poolCap);
                    }
                }
            }
            CapacityView view = coordinators.get(0).capacity(pool);
            assertThat(view.total()).isLessThanOrEqualTo(poolCap);
            for (List<CapacityGrant> mine : grants) {
                CapacityGrant last = mine.stream().filter(grant -> grant.pool().equals(pool)).reduce((a, b) -> b)
                    .orElseThrow();
                assertThat(view.grants().getOrDefault(last.instanceId(), 0)).as("last grant of %s", last.instanceId())
                    .isEqualTo(last.granted());
            }
        }
        assertThat(coordinators.get(0).currentLeader()).as("exactly one of the rounds won the lease").isPresent();
    }

    // ---- helpers ---------------------------------------------------------------------------

    protected static InstanceInfo instance(String id) {
        return new InstanceInfo(id, "host-of-" + id, 1_700_000_000_000L, Map.of("application", "contract"));
    }

    protected static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    protected static Optional<String> text(Optional<byte[]> value) {
        return value.map(bytes -> new String(bytes, StandardCharsets.UTF_8));
    }

    /** All 256 byte values, in order. */
    protected static byte[] everyByte() {
        byte[] all = new byte[256];
        for (int i = 0; i < all.length; i++) {
            all[i] = (byte) i;
        }
        return all;
    }

    /** A lease's holder and term, which is what identifies it (its TTL may be reported as remaining). */
    protected static String term(LeaderLease lease) {
        return lease.holderId() + " in term " + lease.fencingToken();
    }

    protected static Optional<String> term(Optional<LeaderLease> lease) {
        return lease.map(CoordinatorContract::term);
    }

    protected final List<String> liveIds() {
        return coordinator().liveInstances().stream().map(InstanceInfo::id).toList();
    }

    /**
     * Waits until {@code gone} holds, which must happen within the TTL and the tolerance, and not
     * before the TTL has passed since {@code startNanos} (taken before the entry was written).
     */
    protected final void awaitExpiry(long startNanos, Duration ttl, BooleanSupplier gone, String what) {
        long deadline = startNanos + ttl.plus(expiryTolerance()).toNanos();
        while (!gone.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError(what + " did not expire within its TTL of " + ttl + " plus "
                        + expiryTolerance());
            }
            sleep(Duration.ofMillis(20));
        }
        Duration lived = Duration.ofNanos(System.nanoTime() - startNanos);
        assertThat(lived).as("%s expired before its TTL of %s", what, ttl)
            .isGreaterThanOrEqualTo(ttl.minus(EARLY_EXPIRY_SLACK));
    }

    protected static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", ex);
        }
    }

    /** A task run by one of several threads started together. */
    @FunctionalInterface
    protected interface RaceTask<T> {

        T run(int thread) throws Exception;
    }

    /** Runs {@code task} on {@code threads} threads released at the same instant; returns their results in order. */
    protected static <T> List<T> race(int threads, RaceTask<T> task) throws Exception {
        ExecutorService executor = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch ready = new CountDownLatch(threads);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<T>> futures = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                int thread = i;
                Callable<T> racer = () -> {
                    ready.countDown();
                    go.await();
                    return task.run(thread);
                };
                futures.add(executor.submit(racer));
            }
            ready.await();
            go.countDown();
            List<T> results = new ArrayList<>();
            for (Future<T> future : futures) {
                results.add(future.get(30, TimeUnit.SECONDS));
            }
            return Collections.unmodifiableList(results);
        }
        finally {
            executor.shutdownNow();
        }
    }

    private static int number(String message) {
        return Integer.parseInt(message.substring(1));
    }
}
