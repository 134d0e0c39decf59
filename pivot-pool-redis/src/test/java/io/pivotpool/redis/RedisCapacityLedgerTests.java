package io.pivotpool.redis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.pivotpool.coordinator.CapacityGrant;
import io.pivotpool.testsupport.redis.RedisServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The grant ledger (hash, expiry index, running sum) that makes a capacity request O(log N) in
 * Redis: it must give the same grants as summing every grant would, whatever happens to any one of
 * its keys (eviction, tampering, a hash left by an older release), and reap any number of expired
 * grants over later calls.
 */
class RedisCapacityLedgerTests {

    private static final AtomicInteger namespaces = new AtomicInteger();

    private static final Duration LONG = Duration.ofMinutes(1);

    private static final Pattern HLEN_CALLS = Pattern.compile("cmdstat_hlen:calls=(\\d+)");

    @RegisterExtension
    static final RedisServer server = RedisServer.fixture();

    private static RawRedis raw;

    private final List<RedisCoordinator> coordinators = new ArrayList<>();

    private RedisCoordinator coordinator;

    private String prefix;

    private String namespace;

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
        this.namespace = "ledger" + namespaces.incrementAndGet();
        raw.establish(this.namespace);
        this.prefix = "{" + this.namespace + "}:";
        this.coordinator = newCoordinator();
    }

    private RedisCoordinator newCoordinator() {
        RedisCoordinator created = RedisCoordinator.create(RedisCoordinatorSettings.builder()
            .host(server.host())
            .port(server.port())
            .namespace(this.namespace)
            .timeout(Duration.ofSeconds(2))
            .build());
        this.coordinators.add(created);
        created.connect();
        return created;
    }

    @AfterEach
    void closeCoordinators() {
        this.coordinators.forEach(RedisCoordinator::close);
    }

    @Test
    void requestsShouldKeepTheRunningSumAndTheIndexInStepWithTheGrants() {
        this.coordinator.requestCapacity("p", "a", 6, 10, LONG);
        this.coordinator.requestCapacity("p", "b", 3, 10, LONG);
        this.coordinator.requestCapacity("p", "a", 2, 10, LONG);
        assertThat(sum("p")).isEqualTo(5);
        assertThat(raw.commands().zcard(this.prefix + "capx:p")).isEqualTo(2);
        this.coordinator.releaseCapacity("p", "b");
        assertThat(sum("p")).isEqualTo(2);
        this.coordinator.releaseCapacity("p", "a");
        assertThat(raw.commands().keys(this.prefix + "cap*")).as("an empty ledger is removed").isEmpty();
    }

    @Test
    void losingTheSumOrTheIndexShouldRebuildThemFromTheGrantsAndNeverGrantAboveTheCap() {
        for (String lost : List.of("capsum:p", "capx:p")) {
            this.coordinator.requestCapacity("p", "a", 6, 10, LONG);
            this.coordinator.requestCapacity("p", "b", 4, 10, LONG);
            raw.commands().del(this.prefix + lost);
            assertThat(this.coordinator.requestCapacity("p", "c", 10, 10, LONG).granted()).as("after losing " + lost)
                .isZero();
            assertThat(sum("p")).isEqualTo(10);
            this.coordinator.releaseCapacity("p", "a");
            assertThat(this.coordinator.requestCapacity("p", "c", 10, 10, LONG).granted()).isEqualTo(6);
            raw.commands().del(this.prefix + "cap:p", this.prefix + "capx:p", this.prefix + "capsum:p");
        }
    }

    @Test
    void losingTheGrantsShouldForgetThemAndSaySoToTheirHolders() {
        this.coordinator.requestCapacity("p", "a", 6, 10, LONG);
        raw.commands().del(this.prefix + "cap:p");
        assertThat(this.coordinator.requestCapacity("p", "b", 10, 10, LONG).granted()).isEqualTo(10);
        CapacityGrant again = this.coordinator.requestCapacity("p", "a", 6, 10, LONG);
        assertThat(again.renewed()).as("the holder learns its grant was forgotten").isFalse();
        assertThat(again.granted()).isZero();
    }

    @Test
    void aSumThatIsNotOneShouldBeRebuiltNotBelieved() {
        this.coordinator.requestCapacity("p", "a", 6, 10, LONG);
        for (String forged : List.of("", "0 0", "-4", "1e3", "0x0", "not a number", "99999999999999999999")) {
            raw.commands().set(this.prefix + "capsum:p", forged);
            // A low sum must not be believed: that would grant above the cap.
            int granted = this.coordinator.requestCapacity("p", "b", 10, 10, LONG).granted();
            assertThat(granted).as("with the sum forged as '%s'", forged).isLessThanOrEqualTo(4);
        }
    }

    @Test
    void aWellFormedButWrongSumShouldBeCorrectedByAnAudit() {
        this.coordinator.requestCapacity("p", "a", 6, 10, LONG);
        this.coordinator.requestCapacity("p", "b", 4, 10, LONG);
        // Forged as a writer of the ledger would write it: a plausible sum that frees 6.
        raw.commands().set(this.prefix + "capsum:p", "4");
        // An audit comes with a chance of 1 in AUDIT_EVERY x holders (8) per call: after 400 calls
        // the chance that none came is (7/8)^400, about 1e-23.
        int calls = 0;
        while (sum("p") != 10) {
            this.coordinator.requestCapacity("p", "b", 4, 10, LONG);
            calls++;
            assertThat(calls).as("calls until an audit").isLessThanOrEqualTo(400);
        }
        assertThat(this.coordinator.requestCapacity("p", "c", 10, 10, LONG).granted()).isZero();
    }

    @Test
    void aGrantFieldPlantedOrChangedBesideTheIndexShouldBeValidatedLikeAnyOther() {
        this.coordinator.requestCapacity("p", "a", 3, 10, LONG);
        raw.commands().hset(this.prefix + "cap:p", "planted", "not a grant");
        assertThat(this.coordinator.requestCapacity("p", "b", 10, 10, LONG).granted()).isEqualTo(7);
        assertThat(raw.commands().hexists(this.prefix + "cap:p", "planted")).isFalse();
        raw.commands().hset(this.prefix + "cap:p", "a", "nonsense");
        assertThat(this.coordinator.requestCapacity("p", "a", 10, 10, LONG).granted()).isEqualTo(3);
        assertThat(this.coordinator.capacity("p").grants()).isEqualTo(Map.of("a", 3, "b", 7));
    }

    @Test
    void aHashOfGrantsWithoutLedgerShouldBeTakenOverAsItIs() {
        long expires = System.currentTimeMillis() + 60_000;
        raw.commands().hset(this.prefix + "cap:p", Map.of("old-a", "4:" + expires, "old-b", "5:" + expires));
        raw.commands().pexpire(this.prefix + "cap:p", 60_000);
        assertThat(this.coordinator.requestCapacity("p", "c", 10, 10, LONG).granted()).isEqualTo(1);
        assertThat(sum("p")).isEqualTo(10);
    }

    @Test
    void moreExpiredGrantsThanOneCallReapsShouldAllStopCountingOverTheNextCalls() throws Exception {
        int expiring = RedisScripts.MAX_REAPED * 2 + 10;
        Duration ttl = Duration.ofSeconds(3);
        long planted = System.nanoTime();
        for (int i = 0; i < expiring; i++) {
            this.coordinator.requestCapacity("p", "gone-" + i, 1, 10_000, ttl);
        }
        long lastPlanted = System.nanoTime();
        this.coordinator.requestCapacity("p", "stays", 5, 10_000, LONG);
        assertThat(Duration.ofNanos(System.nanoTime() - planted)).as("planting within the ttl").isLessThan(ttl);
        // Until the last of them expired (a grant is written for twice its ttl), however long
        // planting took (0.2 to 0.4 s on this machine).
        long lease = TimeUnit.MILLISECONDS.toNanos(RedisScripts.grantLeaseMillis(ttl.toMillis()));
        TimeUnit.NANOSECONDS.sleep(lease - (System.nanoTime() - lastPlanted) + TimeUnit.MILLISECONDS.toNanos(200));
        // Each call reaps a bounded number, so the sum falls over a few calls, never below the truth.
        // Each asker is new: a holder asking again for the grant it holds only reads the sum.
        List<Integer> totals = new ArrayList<>();
        for (int call = 0; call < 4; call++) {
            totals.add(this.coordinator.requestCapacity("p", "asker-" + call, 0, 10_000, LONG).totalGranted());
        }
        assertThat(totals).containsExactly(5 + expiring - RedisScripts.MAX_REAPED,
                5 + expiring - 2 * RedisScripts.MAX_REAPED, 5, 5);
        assertThat(raw.commands().zcard(this.prefix + "capx:p")).isEqualTo(5);
    }

    @Test
    void aGrantAskedForAgainShouldBeRewrittenOnlyWhenLessThanItsTtlIsLeft() throws Exception {
        Duration ttl = Duration.ofSeconds(2);
        this.coordinator.requestCapacity("p", "other", 4, 10, LONG);
        CapacityGrant first = this.coordinator.requestCapacity("p", "a", 3, 10, ttl);
        long written = expiresAt("p", "a");
        assertThat(written - serverMillis()).as("written for twice its ttl")
            .isGreaterThan(ttl.toMillis() + 500).isLessThanOrEqualTo(2 * ttl.toMillis());
        // The same grant with more than its ttl left is not rewritten, but for the ledger's audits:
        // a chance of 1 in AUDIT_EVERY x holders (8) per call takes the full step, which rewrites.
        int rewritten = 0;
        for (int call = 0; call < 20; call++) {
            long before = expiresAt("p", "a");
            CapacityGrant again = this.coordinator.requestCapacity("p", "a", 3, 10, ttl);
            assertThat(again.granted()).isEqualTo(first.granted()).isEqualTo(3);
            assertThat(again.totalGranted()).isEqualTo(7);
            assertThat(again.renewed()).isTrue();
            rewritten += (expiresAt("p", "a") != before) ? 1 : 0;
        }
        assertThat(rewritten).as("calls of 20 that rewrote the grant").isLessThanOrEqualTo(10);
        written = expiresAt("p", "a");
        // Once less than the ttl is left, the same request writes the grant again.
        while (written - serverMillis() >= ttl.toMillis()) {
            TimeUnit.MILLISECONDS.sleep(50);
        }
        assertThat(this.coordinator.requestCapacity("p", "a", 3, 10, ttl).renewed()).isTrue();
        assertThat(expiresAt("p", "a") - serverMillis()).as("rewritten for twice its ttl")
            .isGreaterThan(ttl.toMillis());
    }

    @Test
    void aGrantAskedForAgainShouldTakeTheAuditsOddsFromTheHoldersItWasToldOfWithoutReadingThePoolsLength() {
        this.coordinator.requestCapacity("p", "other", 4, 10, LONG);
        this.coordinator.requestCapacity("p", "a", 3, 10, LONG);
        // Each call that keeps its grant reads the grant and the sum only: the hash's length is
        // read by the calls that take the full step (the audits, about one in 8 here), not by all.
        long before = hlenCalls();
        for (int call = 0; call < 40; call++) {
            CapacityGrant again = this.coordinator.requestCapacity("p", "a", 3, 10, LONG);
            assertThat(again.granted()).isEqualTo(3);
            assertThat(again.totalGranted()).isEqualTo(7);
        }
        assertThat(hlenCalls() - before).as("HLEN calls in 40 requests keeping their grant").isLessThan(20);
        // A coordinator that was never told (a new one) reads the length, as before.
        RedisCoordinator fresh = newCoordinator();
        long start = hlenCalls();
        fresh.requestCapacity("p", "a", 3, 10, LONG);
        assertThat(hlenCalls() - start).isGreaterThanOrEqualTo(1);
    }

    @Test
    void aGrantAskedForAgainShouldBeRecomputedWhenTheRequestOrTheCapChanged() {
        this.coordinator.requestCapacity("p", "other", 4, 10, LONG);
        this.coordinator.requestCapacity("p", "a", 3, 10, LONG);
        assertThat(this.coordinator.requestCapacity("p", "a", 5, 10, LONG).granted()).as("a larger request")
            .isEqualTo(5);
        assertThat(this.coordinator.requestCapacity("p", "a", 2, 10, LONG).granted()).as("a smaller request")
            .isEqualTo(2);
        // The cap lowered below the sum: the same request no longer stands as it is.
        CapacityGrant lowered = this.coordinator.requestCapacity("p", "a", 2, 5, LONG);
        assertThat(lowered.granted()).isEqualTo(1);
        assertThat(lowered.totalGranted()).isEqualTo(5);
        assertThat(sum("p")).isEqualTo(5);
    }

    @Test
    void aSumBelowTheCallersOwnGrantOrAboveTheCapShouldNotBeBelievedWhenAGrantIsAskedForAgain() {
        this.coordinator.requestCapacity("p", "other", 4, 10, LONG);
        this.coordinator.requestCapacity("p", "a", 3, 10, LONG);
        for (String forged : List.of("0", "2", "-1", "x")) {
            raw.commands().set(this.prefix + "capsum:p", forged);
            CapacityGrant again = this.coordinator.requestCapacity("p", "a", 3, 10, LONG);
            assertThat(again.granted()).as("with the sum forged as '%s'", forged).isEqualTo(3);
            assertThat(again.totalGranted()).as("with the sum forged as '%s'", forged).isEqualTo(7);
            assertThat(sum("p")).as("rebuilt after '%s'", forged).isEqualTo(7);
        }
        // A sum above the cap is not one the grant can stand on; it may only make the grant smaller
        // until an audit corrects it.
        raw.commands().set(this.prefix + "capsum:p", "11");
        assertThat(this.coordinator.requestCapacity("p", "a", 3, 10, LONG).granted()).isLessThanOrEqualTo(3);
        assertThat(Long.parseLong(raw.commands().get(this.prefix + "capsum:p"))).isLessThanOrEqualTo(11);
    }

    /** When the grant of {@code holder} expires, as the hash of grants says, in server milliseconds. */
    private long expiresAt(String pool, String holder) {
        String value = raw.commands().hget(this.prefix + "cap:" + pool, holder);
        return Long.parseLong(value.substring(value.indexOf(':') + 1));
    }

    private static long serverMillis() {
        List<String> time = raw.commands().time();
        return Long.parseLong(time.get(0)) * 1000 + Long.parseLong(time.get(1)) / 1000;
    }

    /** How many HLEN commands the server ran so far. */
    private static long hlenCalls() {
        Matcher hlen = HLEN_CALLS.matcher(raw.commands().info("commandstats"));
        return hlen.find() ? Long.parseLong(hlen.group(1)) : 0;
    }

    /** The running sum the ledger holds. */
    private long sum(String pool) {
        return Long.parseLong(raw.commands().get(this.prefix + "capsum:" + pool));
    }
}
