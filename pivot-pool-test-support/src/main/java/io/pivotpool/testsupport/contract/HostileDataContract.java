package io.pivotpool.testsupport.contract;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.BooleanSupplier;

import ch.qos.logback.classic.Level;
import io.pivotpool.coordinator.CapacityView;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.testsupport.LogCapture;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a {@link Coordinator} does when someone else wrote under its namespace: a hostile tenant of
 * a shared server, a bug in another version, a corruption, or the server losing its data. Every
 * backend runs these cases (the Redis one first, the etcd one when it exists) through one hook,
 * {@link #plant(String, Plant)}, which writes raw data under a logical key in the backend's own
 * format, bypassing the coordinator.
 *
 * <p>Each case plants bad data while a small cluster (two coordinators on one namespace) runs
 * "sync rounds" as {@code DistributedPoolManager} does: heartbeat, list members, seek leadership,
 * read the leader, request and read capacity. The promises: no round throws anything but a
 * {@link CoordinatorException} (and only where the case says so); the cluster recovers within the
 * lease TTL plus a few rounds (one leader again, the real members listed, grants within the cap);
 * each bad key is warned about exactly once however many rounds see it; no log line carries a
 * control character that came from the data; and no new term ever begins before the last lease
 * granted could have ended, whatever was lost.
 */
@Tag("slow")
public abstract class HostileDataContract {

    private final List<Coordinator> coordinators = new ArrayList<>();

    private LogCapture log;

    private String namespace;

    private Coordinator a;

    private Coordinator b;

    /** Creates a coordinator of the backend under test, not yet connected, under {@code namespace}. */
    protected abstract Coordinator createCoordinator(String namespace);

    /**
     * Writes {@code plant} under {@code namespace} in the backend's own format, bypassing the
     * coordinator, exactly as described (numbers stay the raw strings given).
     */
    protected abstract void plant(String namespace, Plant plant);

    /** The TTL of the leases and registrations the cases use; override for a coarser backend. */
    protected Duration leaseTtl() {
        return Duration.ofMillis(500);
    }

    /**
     * How much later than its lease TTL a backend's server may let a lease expire: zero for one that
     * expires keys on its own clock at once; a backend whose server checks leases on a timer (etcd)
     * names its granularity.
     */
    protected Duration leaseExpiryGranularity() {
        return Duration.ZERO;
    }

    /** How often the simulated instances run a round. */
    protected Duration syncInterval() {
        return Duration.ofMillis(50);
    }

    /**
     * Raw data under one logical key: what a backend's own writes would hold, with any field
     * replaced by a raw string of the test's choice.
     */
    public sealed interface Plant {

        /** A leader lease: holder, token and ttl as raw strings; {@code expiry} null: it never expires. */
        record Lease(String holder, String token, String ttlMillis, @Nullable Duration expiry) implements Plant {
        }

        /** The term counter (last fencing token) as a raw string. */
        record Term(String value) implements Plant {
        }

        /**
         * An instance's registration: its fields and ttl as raw strings ({@code ttlMillis} null: none),
         * the record's own expiry ({@code null}: never) and the raw expiry (ms since the epoch, server
         * clock) the membership index gives it.
         */
        record Member(String id, Map<String, String> fields, @Nullable String ttlMillis, @Nullable Duration expiry,
                String indexExpiresAt) implements Plant {
        }

        /** {@code count} valid-looking registrations at once. */
        record Members(int count) implements Plant {
        }

        /** A capacity grant of {@code pool} to {@code holder}, amount and expiry (epoch ms) as raw strings. */
        record Grant(String pool, String holder, String granted, String expiresAt) implements Plant {
        }

        /**
         * A value of the wrong kind (and {@code bytes} long) where the coordinator keeps {@code target};
         * {@code name} is null for a target that is one key of its own (the leader lease, the term
         * counter, the membership index).
         */
        record Junk(Target target, @Nullable String name, int bytes) implements Plant {
        }

        /** Everything under the namespace is gone, as after a restart without persistence. */
        record DataLoss() implements Plant {
        }

        /**
         * A namespace whose cluster has been running: a term counter of 1, and the last term
         * released, as the backend records a release; so that the first candidate leads at once
         * instead of waiting out the fence of a namespace whose lease state is unknown.
         */
        record Established() implements Plant {
        }

        /**
         * One key gone and nothing else, as an eviction under memory pressure or a hand's delete
         * leaves it: {@link Target#LEADER} (the leader lease) or {@link Target#TERM} (the counter).
         */
        record Removed(Target target) implements Plant {
        }
    }

    /** The logical keys a {@link Plant.Junk} can land on; {@code name} names the pool, state key or queue. */
    public enum Target {
        LEADER, TERM, MEMBERS, CAPACITY, STATE, QUEUE
    }

    @BeforeEach
    void startCluster() {
        this.namespace = "pivot-hostile:" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        this.a = connected();
        this.b = connected();
        this.log = LogCapture.everything();
        // The cluster has been running: a term exists, the last was released (no cold-start wait),
        // and one instance leads.
        plant(this.namespace, new Plant.Established());
        awaitRounds("a first leader", () -> leader().isPresent(), Duration.ofSeconds(10));
        this.log.clear();
    }

    @AfterEach
    void stopCluster() {
        if (this.log != null) {
            this.log.close();
        }
        for (Coordinator coordinator : this.coordinators) {
            try {
                coordinator.close();
            }
            catch (RuntimeException ex) {
                // a failing close must not hide the outcome
            }
        }
    }

    // ---- leadership ------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = { "1e5", "inf", "nan", "0x10", "-1", "007", "99999999999999999999", " 5" })
    void leaseWithATokenThatIsNotAPlainDecimalLongIsReplaced(String token) {
        plant(this.namespace, new Plant.Lease("evil", token, "3000", leaseTtl()));
        assertRecovers();
    }

    @ParameterizedTest
    @ValueSource(strings = { "1e3", "inf", "0", "99999999999999999999" })
    void leaseWithATtlThatIsNotAPlainDecimalIsReplaced(String ttl) {
        plant(this.namespace, new Plant.Lease("evil", "5", ttl, leaseTtl()));
        assertRecovers();
    }

    @Test
    void leaseWithoutExpiryIsReplaced() {
        plant(this.namespace, new Plant.Lease("ghost", "5", "3000", null));
        assertRecovers();
    }

    @Test
    void leaseExpiringLaterThanItsOwnTtlIsReplaced() {
        plant(this.namespace, new Plant.Lease("ghost", "5", "3000", Duration.ofHours(1)));
        assertRecovers();
    }

    @Test
    void junkOnTheLeaderKeyIsReplaced() {
        plant(this.namespace, new Plant.Junk(Target.LEADER, null, 16));
        assertRecovers();
    }

    @Test
    void hugeValueOnTheLeaderKeyIsReplacedWithoutReadingIt() {
        plant(this.namespace, new Plant.Junk(Target.LEADER, null, 4 * 1024 * 1024));
        assertRecovers();
    }

    @Test
    void leaseWithAControlCharacterInItsHolderNeverForgesALogLine() {
        plant(this.namespace, new Plant.Lease("evil\nWARN forged line", "5", "3000", null));
        assertRecovers();
        assertThat(loggedText()).doesNotContain("\nWARN forged line");
    }

    /**
     * A counter no term was given ({@link io.pivotpool.coordinator.support.Plausibility}: far ahead
     * of what the token scheme produces) is fenced for one ttl and reset, so that it never runs
     * out: terms begin again, each token above the one before.
     */
    @ParameterizedTest
    @ValueSource(strings = { "9007199254740993", "1000000000000000000", "9223372036854775806", "9223372036854775807" })
    void implausibleTermIsFencedAndResetNeverExhausted(String term) {
        LeaderLease held = leader().orElseThrow();
        assertThat(holder(held).releaseLeadership(held.holderId(), held.fencingToken())).isTrue();
        plant(this.namespace, new Plant.Term(term));
        assertRecovers();
        LeaderLease first = leader().orElseThrow();
        assertThat(first.fencingToken()).isLessThan(Long.parseLong(term));
        assertThat(holder(first).releaseLeadership(first.holderId(), first.fencingToken())).isTrue();
        awaitRounds("a next term", () -> leader().isPresent(), leaseTtl().plus(syncInterval().multipliedBy(5)));
        assertThat(leader().orElseThrow().fencingToken()).isGreaterThan(first.fencingToken());
    }

    // ---- plausible but foreign: well formed, yet not what a member running this configuration writes

    @Test
    void leaseOfADayHeldByAStrangerIsFencedAndReplaced() {
        LeaderLease held = leader().orElseThrow();
        holder(held).releaseLeadership(held.holderId(), held.fencingToken());
        plant(this.namespace, new Plant.Lease("stranger", Long.toString(held.fencingToken()), "86400000",
                Duration.ofHours(24)));
        assertRecovers();
    }

    /** A member's name on a lease whose token no term was given: believed, it would outrank every later term. */
    @Test
    void leaseWithATokenAboveTheTermCounterIsFencedAndReplaced() {
        LeaderLease held = leader().orElseThrow();
        holder(held).releaseLeadership(held.holderId(), held.fencingToken());
        long forged = held.fencingToken() + 1_000_000_000L;
        plant(this.namespace, new Plant.Lease(held.holderId(), Long.toString(forged),
                Long.toString(leaseTtl().toMillis()), leaseTtl()));
        awaitRounds("a leader in a term the counter gave",
                () -> leader().filter(lease -> lease.fencingToken() != forged).isPresent(),
                leaseTtl().plus(syncInterval().multipliedBy(5)).plusMillis(500));
        assertThat(warnings()).as("warnings about the one bad key").hasSize(1);
        assertThat(leader().orElseThrow().fencingToken()).isLessThan(forged);
    }

    @Test
    void grantOfADayHeldByAStrangerIsDropped() {
        plant(this.namespace, new Plant.Grant("p", "stranger", "10",
                Long.toString(System.currentTimeMillis() + Duration.ofHours(23).toMillis())));
        assertRecovers();
        assertThat(this.a.capacity("p").grants()).doesNotContainKey("stranger");
    }

    @Test
    void memberOfADayIsDropped() {
        long day = Duration.ofHours(23).toMillis();
        plant(this.namespace, new Plant.Member("stranger", Map.of("id", "stranger", "host", "h", "startedAt", "1"),
                Long.toString(day), Duration.ofMillis(day), Long.toString(System.currentTimeMillis() + day)));
        assertRecovers();
    }

    // ---- one key gone (eviction, a hand's delete)

    /**
     * The leader key gone while its holder may still trust the term (an eviction under a
     * {@code volatile-*} policy takes a key with a TTL and leaves the counter): no other term
     * begins before that lease could have ended.
     */
    @Test
    void leaderKeyGoneWhileItsLeaseMayRunLetsNoTermBeginBeforeItEnds() {
        assertNoTermBeginsBeforeTheLeaseInForceCouldEnd(new Plant.Removed(Target.LEADER));
    }

    /** The counter gone alone: no term begins before the lease in force could have ended, and tokens still grow. */
    @Test
    void termGoneAloneLetsNoTermBeginBeforeTheLeaseInForceCouldEnd() {
        assertNoTermBeginsBeforeTheLeaseInForceCouldEnd(new Plant.Removed(Target.TERM));
    }

    private void assertNoTermBeginsBeforeTheLeaseInForceCouldEnd(Plant loss) {
        LeaderLease held = leader().orElseThrow();
        long renewedAt = System.nanoTime();
        holder(held).tryAcquireLeadership(held.holderId(), leaseTtl()).orElseThrow();
        plant(this.namespace, loss);
        String other = held.holderId().equals("a") ? "b" : "a";
        Coordinator otherCoordinator = held.holderId().equals("a") ? this.b : this.a;
        LeaderLease next = null;
        while (next == null) {
            next = otherCoordinator.tryAcquireLeadership(other, leaseTtl()).orElse(null);
            if (next == null) {
                sleep(Duration.ofMillis(10));
            }
            assertThat(Duration.ofNanos(System.nanoTime() - renewedAt))
                .isLessThan(leaseTtl().multipliedBy(4).plus(leaseExpiryGranularity()));
        }
        assertThat(Duration.ofNanos(System.nanoTime() - renewedAt)).as("a new term after %s", loss)
            .isGreaterThanOrEqualTo(leaseTtl());
        assertThat(next.fencingToken()).as("the next term's token").isGreaterThan(held.fencingToken());
    }

    // ---- membership ------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = { "1e20", "+inf", "99999999999999" })
    void memberWithAnImpossibleIndexExpiryIsDropped(String indexExpiresAt) {
        plant(this.namespace, new Plant.Member("ghost", Map.of("id", "ghost", "host", "h", "startedAt", "1"), "3000",
                Duration.ofSeconds(3), indexExpiresAt));
        assertRecovers();
    }

    @Test
    void memberWithoutExpiryIsDropped() {
        plant(this.namespace, new Plant.Member("ghost", Map.of("id", "ghost", "host", "h", "startedAt", "1"), "3000", null,
                Long.toString(System.currentTimeMillis() + 3000)));
        assertRecovers();
    }

    @Test
    void memberExpiringLaterThanItsOwnTtlIsDropped() {
        plant(this.namespace, new Plant.Member("ghost", Map.of("id", "ghost", "host", "h", "startedAt", "1"), "3000",
                Duration.ofHours(1), Long.toString(System.currentTimeMillis() + 3000)));
        assertRecovers();
    }

    @Test
    void memberWithAHugeFieldIsDroppedWithoutReadingIt() {
        plant(this.namespace, new Plant.Member("ghost",
                Map.of("id", "ghost", "host", "h", "startedAt", "1", "meta.blob", "x".repeat(2 * 1024 * 1024)), "3000",
                Duration.ofSeconds(3), Long.toString(System.currentTimeMillis() + 3000)));
        assertRecovers();
    }

    @Test
    void memberWithAControlCharacterInItsIdNeverForgesALogLine() {
        String id = "evil\nWARN forged line\r";
        plant(this.namespace, new Plant.Member(id, Map.of("id", id, "host", "h", "startedAt", "1"), "3000", null,
                Long.toString(System.currentTimeMillis() + 3000)));
        assertRecovers();
        assertThat(loggedText()).doesNotContain("\nWARN forged line");
    }

    /**
     * Each registration below what a backend accepts in one value (etcd: 1.5 MiB), together beyond
     * what a client accepts in one reply (gRPC: 4 MiB): a listing bounded by count alone would fail
     * for good. Each is dropped, one warning each.
     */
    @Test
    void membersTooLargeToListTogetherAreDroppedOneByOne() {
        Duration ttl = leaseTtl().multipliedBy(3);
        long expiresAt = System.currentTimeMillis() + ttl.toMillis();
        for (int i = 0; i < 4; i++) {
            String id = "large-" + i;
            plant(this.namespace, new Plant.Member(id, Map.of("id", id, "host", "h", "startedAt", "1",
                    "meta.blob", "x".repeat(1_400_000)), Long.toString(ttl.toMillis()), ttl, Long.toString(expiresAt)));
        }
        assertRecovers(4);
    }

    @Test
    void tensOfThousandsOfPlantedMembersNeitherBlockTheServerNorHideTheRealOnes() {
        plant(this.namespace, new Plant.Members(50_000));
        long start = System.nanoTime();
        this.a.liveInstances();
        Duration firstListing = Duration.ofNanos(System.nanoTime() - start);
        System.out.printf("%s: listing members with 50000 planted took %d ms%n", getClass().getSimpleName(),
                firstListing.toMillis());
        assertThat(firstListing).isLessThan(Duration.ofMillis(500));
        assertRecovers();
        start = System.nanoTime();
        this.a.liveInstances();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(100));
    }

    // ---- capacity --------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = { "3000000000", "-9223372036854775808", "1e9" })
    void grantThatIsNotAnIntIsDroppedAndNeverWraps(String granted) {
        plant(this.namespace, new Plant.Grant("p", "evil", granted, Long.toString(System.currentTimeMillis() + 60_000)));
        assertRecovers();
        CapacityView view = this.a.capacity("p");
        assertThat(view.grants()).doesNotContainKey("evil");
        assertThat(view.grants().values()).allSatisfy(value -> assertThat(value).isBetween(0, 10));
        assertThat(view.total()).isBetween(0, 10);
    }

    @ParameterizedTest
    @ValueSource(strings = { "99999999999999", "inf" })
    void grantThatNeverExpiresIsDropped(String expiresAt) {
        plant(this.namespace, new Plant.Grant("p", "evil", "10", expiresAt));
        assertRecovers();
        assertThat(this.a.capacity("p").grants()).doesNotContainKey("evil");
    }

    @Test
    void junkOnThePoolsGrantsIsDropped() {
        plant(this.namespace, new Plant.Junk(Target.CAPACITY, "p", 64));
        assertRecovers();
    }

    // ---- state and queues ------------------------------------------------------------------

    @Test
    void junkUnderAStateKeyAndAQueueIsSkippedWithOneWarningEach() {
        plant(this.namespace, new Plant.Junk(Target.STATE, "k", 16));
        plant(this.namespace, new Plant.Junk(Target.QUEUE, "q", 16));
        for (int i = 0; i < 5; i++) {
            assertThat(this.a.get("k")).isEmpty();
            assertThat(this.a.pop("q")).isEmpty();
            assertThat(this.a.compareAndSet("k", null, new byte[] { 1 }, null)).isFalse();
        }
        assertThat(warnings()).hasSize(2);
    }

    /**
     * Values each below what a backend accepts, together beyond what a client accepts in one reply
     * (gRPC: 4 MiB): reading them together must not fail every round of the instance whose keys
     * they are; they are read one by one and skipped.
     */
    @Test
    void stateValuesTooLargeToReadTogetherAreSkipped() {
        List<String> keys = List.of("large-0", "large-1", "large-2", "large-3");
        for (String key : keys) {
            plant(this.namespace, new Plant.Junk(Target.STATE, key, 1_400_000));
        }
        assertThat(this.a.getAll(keys)).isEmpty();
        assertThat(this.a.getAll(List.of("large-0"))).isEmpty();
    }

    /** The same under a prefix shared by enough keys to be read as one range. */
    @Test
    void stateValuesTooLargeToReadTogetherUnderOnePrefixAreSkipped() {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            keys.add("reports:" + i);
            if (i < 4) {
                plant(this.namespace, new Plant.Junk(Target.STATE, "reports:" + i, 1_400_000));
            }
            else {
                this.a.set("reports:" + i, new byte[] { (byte) i }, null);
            }
        }
        Map<String, byte[]> read = this.a.getAll(keys);
        assertThat(read.keySet()).containsExactlyElementsOf(keys.subList(4, 100));
        read.forEach((key, value) -> assertThat(value).as(key).containsExactly((byte) Integer.parseInt(key.substring(8))));
    }

    // ---- the cluster, simulated ------------------------------------------------------------

    /**
     * Runs rounds until the cluster is healthy again (one leader, both real members listed,
     * capacity granted within the cap), within the lease TTL plus a few rounds, and checks that
     * exactly one warning was logged for the one bad key.
     */
    private void assertRecovers() {
        assertRecovers(1);
    }

    /** As {@link #assertRecovers()}, with one warning for each of {@code badKeys} keys. */
    private void assertRecovers(int badKeys) {
        awaitRounds("recovery", () -> leader().isPresent() && members().equals(List.of("a", "b")) && capacityWithinCap(),
                leaseTtl().plus(syncInterval().multipliedBy(5)).plusMillis(500));
        // More rounds: the bad keys, if still there, must not be warned about again.
        for (int i = 0; i < 3; i++) {
            round();
        }
        assertThat(warnings()).as("warnings about the bad keys").hasSize(badKeys);
        assertThat(loggedText()).as("log lines with a raw control character").doesNotContainPattern("[\\r\\u0000-\\u0008]");
    }

    private void awaitRounds(String what, BooleanSupplier healthy, Duration within) {
        long deadline = System.nanoTime() + within.toNanos();
        while (true) {
            round();
            if (healthy.getAsBoolean()) {
                return;
            }
            assertThat(System.nanoTime()).as("waited %s for %s", within, what).isLessThan(deadline);
            sleep(syncInterval());
        }
    }

    /** One sync round of both instances: what DistributedPoolManager does, plus a capacity request. */
    private void round() {
        for (String id : List.of("a", "b")) {
            Coordinator coordinator = id.equals("a") ? this.a : this.b;
            InstanceInfo self = new InstanceInfo(id, "host-" + id, 1000L, Map.of());
            coordinator.heartbeat(self, leaseTtl());
            coordinator.liveInstances();
            coordinator.tryAcquireLeadership(id, leaseTtl());
            coordinator.currentLeader();
            coordinator.requestCapacity("p", id, 5, 10, leaseTtl());
        }
    }

    private Optional<LeaderLease> leader() {
        return this.a.currentLeader().filter(lease -> List.of("a", "b").contains(lease.holderId()));
    }

    private List<String> members() {
        return this.b.liveInstances().stream().map(InstanceInfo::id).toList();
    }

    private boolean capacityWithinCap() {
        CapacityView view = this.a.capacity("p");
        return view.total() <= 10 && view.grants().values().stream().allMatch(granted -> granted >= 0 && granted <= 10)
                && view.grants().keySet().stream().allMatch(holder -> holder.equals("a") || holder.equals("b"));
    }

    private Coordinator holder(LeaderLease lease) {
        return lease.holderId().equals("a") ? this.a : this.b;
    }

    private Coordinator connected() {
        Coordinator coordinator = createCoordinator(this.namespace);
        this.coordinators.add(coordinator);
        coordinator.connect();
        return coordinator;
    }

    /** Warnings logged by the backend's own classes. */
    private List<String> warnings() {
        return this.log.messages(Level.WARN, this.a.getClass().getPackageName());
    }

    /** Every message, separated by '|' so that a newline can only come from a message itself. */
    private String loggedText() {
        return String.join("|", this.log.messages(Level.TRACE));
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }
}
