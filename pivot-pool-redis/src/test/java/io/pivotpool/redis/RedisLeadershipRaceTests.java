package io.pivotpool.redis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.testsupport.redis.RedisServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Several instances, each with its own connection, fight for leadership for a few seconds:
 * acquiring, renewing, releasing and sometimes going silent (a crash), so that terms change often.
 */
class RedisLeadershipRaceTests {

    private static final int CANDIDATES = 6;

    private static final Duration RACE = Duration.ofSeconds(2);

    /**
     * The terms the race must have granted to have exercised anything; it runs past {@link #RACE}
     * (up to five times as long) until it has, since how often terms change hands is left to chance
     * and the machine's pace: one run on a loaded machine granted exactly 30 in two seconds.
     */
    private static final int MIN_TERMS = 30;

    private static final Duration TTL = Duration.ofMillis(300);

    /** How long before the lease's end (counted from the request) a leader stops acting as one. */
    private static final long MARGIN_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    @RegisterExtension
    static final RedisServer server = RedisServer.fixture();

    private final List<RedisCoordinator> coordinators = new ArrayList<>();

    @AfterEach
    void closeCoordinators() {
        this.coordinators.forEach(RedisCoordinator::close);
    }

    @Test
    void competingInstancesShouldNeverLeadAtOnceAndTermsShouldOnlyGrow() throws Exception {
        for (int i = 0; i < CANDIDATES; i++) {
            RedisCoordinator coordinator = RedisCoordinator.create(RedisCoordinatorSettings.builder()
                .host(server.host())
                .port(server.port())
                .namespace("race")
                .timeout(Duration.ofSeconds(1))
                .build());
            coordinator.connect();
            this.coordinators.add(coordinator);
        }
        AtomicInteger acting = new AtomicInteger();
        AtomicInteger mostActingAtOnce = new AtomicInteger();
        Map<Long, String> holderByToken = new ConcurrentHashMap<>();
        List<Observation> observations = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService threads = Executors.newFixedThreadPool(CANDIDATES);
        List<Future<?>> candidates = new ArrayList<>();
        for (int i = 0; i < CANDIDATES; i++) {
            RedisCoordinator coordinator = this.coordinators.get(i);
            String id = "candidate-" + i;
            candidates.add(threads.submit(() -> {
                start.await();
                long end = System.nanoTime() + RACE.toNanos();
                long latest = System.nanoTime() + 5 * RACE.toNanos();
                while (System.nanoTime() < end || (holderByToken.size() <= MIN_TERMS && System.nanoTime() < latest)) {
                    long sentAt = System.nanoTime();
                    Optional<LeaderLease> lease = coordinator.tryAcquireLeadership(id, TTL);
                    long answeredAt = System.nanoTime();
                    if (lease.isEmpty()) {
                        Thread.sleep(ThreadLocalRandom.current().nextInt(1, 5));
                        continue;
                    }
                    LeaderLease granted = lease.get();
                    observations.add(new Observation(granted.fencingToken(), granted.holderId(), sentAt, answeredAt));
                    String previous = holderByToken.putIfAbsent(granted.fencingToken(), granted.holderId());
                    assertThat(previous).as("holder of term %d", granted.fencingToken()).isIn(null, id);
                    // Act as leader only while the lease certainly lasts: it was extended after sentAt.
                    long trustedUntil = sentAt + TTL.toNanos() - MARGIN_NANOS;
                    if (System.nanoTime() < trustedUntil) {
                        int now = acting.incrementAndGet();
                        mostActingAtOnce.accumulateAndGet(now, Math::max);
                        Thread.sleep(ThreadLocalRandom.current().nextInt(0, 10));
                        acting.decrementAndGet();
                    }
                    int choice = ThreadLocalRandom.current().nextInt(40);
                    if (choice < 20) {
                        coordinator.releaseLeadership(id, granted.fencingToken());
                    }
                    else if (choice == 20) {
                        // Go silent, as a crashed leader does: the term lapses after its TTL.
                        Thread.sleep(TTL.toMillis());
                    }
                    // Otherwise renew at once on the next turn of the loop.
                }
                return null;
            }));
        }
        start.countDown();
        for (Future<?> candidate : candidates) {
            candidate.get(5 * RACE.toMillis() + 10_000, TimeUnit.MILLISECONDS);
        }
        threads.shutdown();

        assertThat(mostActingAtOnce.get()).as("instances acting as leader at the same moment").isEqualTo(1);
        assertThat(holderByToken.size()).as("terms granted during the race").isGreaterThan(MIN_TERMS);
        // Linearizable terms: once a call has returned term t, no call sent later returns an older one.
        List<Observation> byAnswer = new ArrayList<>(observations);
        byAnswer.sort((a, b) -> Long.compare(a.answeredAt(), b.answeredAt()));
        for (Observation seen : byAnswer) {
            for (Observation later : observations) {
                if (later.sentAt() > seen.answeredAt()) {
                    assertThat(later.token()).as("a term returned after term %d was seen", seen.token())
                        .isGreaterThanOrEqualTo(seen.token());
                }
            }
        }
        System.out.printf("Leadership race: %d instances, %d terms, %d grants in %s%n", CANDIDATES,
                holderByToken.size(), observations.size(), RACE);
    }

    private record Observation(long token, String holder, long sentAt, long answeredAt) {
    }
}
