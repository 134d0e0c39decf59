package io.pivotpool.coordinator;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.pivotpool.testsupport.contract.CoordinatorContract;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The no-op coordinator keeps the single-instance contract. It holds its data in its own memory,
 * so two of them share nothing: it does not extend {@link MultiInstanceCoordinatorContract}. The
 * extra tests drive its clock by hand to check TTLs to the nanosecond.
 */
class NoOpCoordinatorTests extends CoordinatorContract {

    /** Entries expire to the millisecond here: half a second proves expiry as well as a second. */
    @Override
    protected Duration shortTtl() {
        return Duration.ofMillis(500);
    }

    private final AtomicLong now = new AtomicLong(Long.MAX_VALUE - Duration.ofSeconds(5).toNanos());

    private final NoOpCoordinator manual = new NoOpCoordinator(this.now::get);

    @Override
    protected Coordinator createCoordinator(String namespace) {
        return new NoOpCoordinator();
    }

    @Test
    void nameIsNoop() {
        assertThat(coordinator().name()).isEqualTo("noop").isEqualTo(NoOpCoordinator.NAME);
    }

    @Test
    void entriesLiveExactlyTheirTtlEvenWhenTheClockWrapsAround() {
        Duration ttl = Duration.ofSeconds(10);
        this.manual.register(instance("a"), ttl);
        this.manual.set("k", bytes("v"), ttl);
        LeaderLease lease = this.manual.tryAcquireLeadership("a", ttl).orElseThrow();
        this.manual.requestCapacity("p", "a", 5, 5, ttl);
        advance(ttl.minusNanos(1));
        assertThat(this.manual.liveInstances()).hasSize(1);
        assertThat(this.manual.get("k")).isPresent();
        assertThat(this.manual.currentLeader()).contains(lease);
        assertThat(this.manual.capacity("p").total()).isEqualTo(5);
        advance(Duration.ofNanos(1));
        assertThat(this.manual.liveInstances()).isEmpty();
        assertThat(this.manual.get("k")).isEmpty();
        assertThat(this.manual.currentLeader()).isEmpty();
        assertThat(this.manual.capacity("p").total()).isZero();
    }

    @Test
    void valueWithoutTtlOutlivesAnyClock() {
        this.manual.set("k", bytes("v"), null);
        advance(Duration.ofDays(365 * 200));
        assertThat(this.manual.get("k")).isPresent();
    }

    @Test
    void closeWakesABlockedPopEmptyHanded() throws Exception {
        NoOpCoordinator coordinator = new NoOpCoordinator();
        coordinator.connect();
        CompletableFuture<Optional<byte[]>> popped = CompletableFuture
            .supplyAsync(() -> coordinator.pop("q", Duration.ofSeconds(30)));
        sleep(Duration.ofMillis(100));
        coordinator.close();
        assertThat(popped.get(2, TimeUnit.SECONDS)).isEmpty();
        assertThat(coordinator.isConnected()).isFalse();
    }

    @Test
    void blockingPopWaitsOnlyUntilClosedNotUntilConnected() {
        NoOpCoordinator neverConnected = new NoOpCoordinator();
        long start = System.nanoTime();
        assertThat(neverConnected.pop("q", Duration.ofMillis(200))).isEmpty();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(150));
        neverConnected.close();
        neverConnected.connect();
        assertThat(neverConnected.isConnected()).as("reopened by connect").isTrue();
    }

    @Test
    void storedBytesAreCopiesSoCallersCannotChangeThem() {
        byte[] value = "value".getBytes(StandardCharsets.UTF_8);
        coordinator().set("k", value, null);
        coordinator().push("q", value);
        value[0] = 'X';
        coordinator().get("k").orElseThrow()[1] = 'X';
        assertThat(text(coordinator().get("k"))).contains("value");
        assertThat(text(coordinator().pop("q"))).contains("value");
    }

    private void advance(Duration duration) {
        this.now.addAndGet(duration.toNanos());
    }
}
