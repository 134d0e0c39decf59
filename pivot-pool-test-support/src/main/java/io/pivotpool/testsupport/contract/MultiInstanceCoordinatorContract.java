package io.pivotpool.testsupport.contract;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.DuplicateInstanceIdException;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.coordinator.SyncRound;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * The promises of a backend that several instances share, on top of everything in
 * {@link CoordinatorContract}: each test also connects a {@link #other() second coordinator} to the
 * same namespace (created by the same {@link #createCoordinator(String)}), standing for another
 * application instance, and proves that the two see and exclude each other. A backend that
 * cannot be shared, such as {@link NoOpCoordinator}, extends {@link CoordinatorContract} alone.
 */
public abstract class MultiInstanceCoordinatorContract extends CoordinatorContract {

    /** A second coordinator on the same backend and namespace, connected. */
    protected final Coordinator other() {
        return connectedCoordinator(namespace());
    }

    @Test
    void instancesRegisteredThroughEitherCoordinatorSeeEachOther() {
        Coordinator other = other();
        coordinator().register(instance("a"), LONG_TTL);
        other.register(instance("b"), LONG_TTL);
        assertThat(coordinator().liveInstances()).extracting(InstanceInfo::id).containsExactly("a", "b");
        assertThat(other.liveInstances()).extracting(InstanceInfo::id).containsExactly("a", "b");
        other.unregister("a");
        assertThat(coordinator().liveInstances()).extracting(InstanceInfo::id).containsExactly("b");
    }

    /**
     * Two processes registering one id would share its grants and its leadership: each must be
     * told (its heartbeat and its round fail with {@link DuplicateInstanceIdException}), for as long
     * as the other may still be live (twice the registration's ttl after it was last found), while a
     * process that restarts with the same id after the first stopped is not.
     */
    @Test
    void twoLiveProcessesWithOneIdAreBothToldAndARestartIsNot() {
        Duration ttl = shortTtl();
        Coordinator other = other();
        InstanceInfo first = new InstanceInfo("twin", "host-1", 1_700_000_000_000L, Map.of());
        InstanceInfo second = new InstanceInfo("twin", "host-2", 1_700_000_100_000L, Map.of());
        coordinator().register(first, ttl);
        coordinator().heartbeat(first, ttl);
        other.register(second, ttl);
        assertThatExceptionOfType(DuplicateInstanceIdException.class)
            .isThrownBy(() -> coordinator().heartbeat(first, ttl))
            .withMessageContaining("'twin'")
            .withMessageContaining(Instant.ofEpochMilli(second.startedAtMillis()).toString());
        assertThatExceptionOfType(DuplicateInstanceIdException.class)
            .as("the other process finds out too")
            .isThrownBy(() -> other.heartbeat(second, ttl))
            .withMessageContaining(Instant.ofEpochMilli(first.startedAtMillis()).toString());
        assertThatExceptionOfType(DuplicateInstanceIdException.class)
            .as("a round heartbeats as well")
            .isThrownBy(() -> coordinator().round(new SyncRound(first, ttl, null, false, Map.of(), null,
                    List.of(), List.of())));
        assertThatExceptionOfType(DuplicateInstanceIdException.class)
            .as("a grant asked for outside a round, while the other may still be live")
            .isThrownBy(() -> coordinator().requestCapacity("p", "twin", 1, 10, ttl));
        long lastFound = System.nanoTime();
        assertThatExceptionOfType(DuplicateInstanceIdException.class)
            .as("a heartbeat that finds its own record while the other may still be live")
            .isThrownBy(() -> coordinator().heartbeat(first, ttl));
        // The second process stops: the first heartbeats in peace once it cannot be live any more.
        long peaceful = -1;
        while (peaceful < 0) {
            assertThat(Duration.ofNanos(System.nanoTime() - lastFound)).as("time until the first is left in peace")
                .isLessThan(ttl.multipliedBy(2).plus(expiryTolerance()).plusSeconds(2));
            try {
                coordinator().heartbeat(first, ttl);
                peaceful = System.nanoTime();
            }
            catch (DuplicateInstanceIdException ex) {
                sleep(ttl.dividedBy(10));
            }
        }
        assertThat(Duration.ofNanos(peaceful - lastFound)).as("held back for twice the ttl")
            .isGreaterThanOrEqualTo(ttl.multipliedBy(2).minusMillis(200));
        coordinator().round(new SyncRound(first, ttl, null, false, Map.of(), null, List.of(), List.of()));
        // The first stops too, and a third starts with the same id: nobody else is live.
        InstanceInfo restarted = new InstanceInfo("twin", "host-1", 1_700_000_200_000L, Map.of());
        other.register(restarted, LONG_TTL);
        other.heartbeat(restarted, LONG_TTL);
        other.heartbeat(restarted, LONG_TTL);
        assertThat(other.liveInstances()).containsExactly(restarted);
    }

    @Test
    void onlyOneOfTwoCoordinatorsCanLead() {
        Coordinator other = other();
        LeaderLease lease = coordinator().tryAcquireLeadership("a", LONG_TTL).orElseThrow();
        assertThat(other.tryAcquireLeadership("b", LONG_TTL)).isEmpty();
        assertThat(term(other.currentLeader())).contains(term(lease));
        assertThat(other.releaseLeadership("b", lease.fencingToken())).isFalse();
        assertThat(other.releaseLeadership("a", lease.fencingToken()))
                .as("the holder may release through any coordinator").isTrue();
        LeaderLease next = other.tryAcquireLeadership("b", LONG_TTL).orElseThrow();
        assertThat(next.fencingToken()).isGreaterThan(lease.fencingToken());
        assertThat(term(coordinator().currentLeader())).contains(term(next));
    }

    @Test
    void concurrentCandidatesOnTwoCoordinatorsElectExactlyOneLeader() throws Exception {
        List<Coordinator> both = List.of(coordinator(), other());
        List<Optional<LeaderLease>> outcomes = race(8,
                candidate -> both.get(candidate % 2).tryAcquireLeadership("candidate-" + candidate, LONG_TTL));
        List<LeaderLease> leases = outcomes.stream().flatMap(Optional::stream).toList();
        assertThat(leases).hasSize(1);
        assertThat(term(both.get(1).currentLeader())).contains(term(leases.get(0)));
    }

    @Test
    void whenTheLeaderStopsRenewingTheOtherInstanceLeadsInANewTerm() {
        Coordinator other = other();
        Duration ttl = shortTtl();
        long start = System.nanoTime();
        LeaderLease first = coordinator().tryAcquireLeadership("a", ttl).orElseThrow();
        assertThat(other.tryAcquireLeadership("b", ttl)).isEmpty();
        awaitExpiry(start, ttl, () -> other.tryAcquireLeadership("b", LONG_TTL).isPresent(),
                "leadership of the silent leader");
        LeaderLease second = other.currentLeader().orElseThrow();
        assertThat(second.holderId()).isEqualTo("b");
        assertThat(second.fencingToken()).isGreaterThan(first.fencingToken());
        assertThat(coordinator().tryAcquireLeadership("a", LONG_TTL)).as("the old leader coming back").isEmpty();
    }

    @Test
    void capacityGrantsThroughTwoCoordinatorsNeverExceedTheCap() throws Exception {
        Coordinator other = other();
        assertThat(coordinator().requestCapacity("p", "a", 7, 10, LONG_TTL).granted()).isEqualTo(7);
        assertThat(other.requestCapacity("p", "b", 7, 10, LONG_TTL).granted()).isEqualTo(3);
        other.releaseCapacity("p", "a");
        assertThat(coordinator().capacity("p").grants()).containsOnlyKeys("b");
        assertConcurrentGrantsStayWithinCap(List.of(coordinator(), other));
    }

    @Test
    void roundsThroughTwoCoordinatorsNeverGrantMoreThanTheCapAndElectOneLeader() throws Exception {
        assertConcurrentRoundsStayWithinCap(List.of(coordinator(), other()));
    }

    @Test
    void messagePushedThroughOneCoordinatorIsPoppedThroughTheOther() {
        Coordinator other = other();
        coordinator().push("jobs", bytes("first"));
        coordinator().push("jobs", everyByte());
        assertThat(text(other.pop("jobs"))).contains("first");
        assertThat(other.pop("jobs", Duration.ofSeconds(1)))
                .hasValueSatisfying(value -> assertThat(value).isEqualTo(everyByte()));
        assertThat(coordinator().pop("jobs")).isEmpty();
    }

    @Test
    void blockingPopOnOneCoordinatorIsWokenByAPushThroughTheOther() throws Exception {
        assertBlockingPopIsWokenByPush(coordinator(), other());
    }

    @Test
    void stateIsSharedAndCompareAndSetIsAtomicAcrossCoordinators() throws Exception {
        Coordinator other = other();
        coordinator().set("k", bytes("v"), null);
        assertThat(text(other.get("k"))).contains("v");
        assertThat(other.delete("k")).isTrue();
        assertThat(coordinator().get("k")).isEmpty();
        assertConcurrentIncrementsAreAtomic(List.of(coordinator(), other));
    }

    @Test
    void coordinatorsOfOtherNamespacesSeeNothing() {
        // A namespace that extends this one must not collide with its keys either:
        // 'ns' + 'x:k' and 'ns:x' + 'k' must stay two different keys.
        Coordinator stranger = connectedCoordinator(namespace() + ":x");
        coordinator().register(instance("a"), LONG_TTL);
        coordinator().tryAcquireLeadership("a", LONG_TTL).orElseThrow();
        coordinator().set("x:k", bytes("mine"), null);
        coordinator().push("x:q", bytes("mine"));
        coordinator().requestCapacity("p", "a", 10, 10, LONG_TTL);
        assertThat(stranger.liveInstances()).isEmpty();
        assertThat(stranger.currentLeader()).isEmpty();
        assertThat(stranger.get("k")).isEmpty();
        assertThat(stranger.get("x:k")).isEmpty();
        assertThat(stranger.pop("q")).isEmpty();
        assertThat(stranger.capacity("p").total()).isZero();
        stranger.set("k", bytes("theirs"), null);
        assertThat(text(coordinator().get("x:k"))).contains("mine");
        assertThat(stranger.tryAcquireLeadership("z", LONG_TTL)).isPresent();
    }
}
