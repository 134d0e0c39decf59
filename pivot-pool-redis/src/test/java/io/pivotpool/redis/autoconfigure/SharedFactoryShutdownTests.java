package io.pivotpool.redis.autoconfigure;

import java.time.Duration;
import java.util.UUID;

import io.pivotpool.autoconfigure.PivotPoolAutoConfiguration;
import io.pivotpool.distributed.CoordinationStatus;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.testsupport.redis.RedisServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Graceful shutdown of an instance that coordinates on the application's own
 * {@code LettuceConnectionFactory} (Boot's, from {@code spring.data.redis.*}): it must resign and
 * unregister while that factory still works, so that another instance leads within one
 * sync-interval instead of waiting a whole leader-ttl.
 */
@ExtendWith(OutputCaptureExtension.class)
class SharedFactoryShutdownTests {

    private static final Duration SYNC_INTERVAL = Duration.ofMillis(200);

    private static final Duration LEADER_TTL = Duration.ofSeconds(3);

    /** Scheduling and one Redis round trip on a busy machine. */
    private static final Duration SLACK = Duration.ofMillis(1000);

    @RegisterExtension
    static final RedisServer server = RedisServer.fixture();

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class, PivotPoolAutoConfiguration.class,
                RedisCoordinatorAutoConfiguration.class))
        .withPropertyValues("distributed.enabled=true", "distributed.coordination=redis",
                "distributed.namespace=shutdown-" + UUID.randomUUID().toString().substring(0, 8),
                "distributed.sync-interval=" + SYNC_INTERVAL.toMillis() + "ms",
                // Far longer than one sync-interval: only resigning and unregistering, never lapsing, can explain a
                // quick hand-over. (A fresh namespace has no term counter yet: its first leader waits one leader-ttl.)
                "distributed.leader-ttl=" + LEADER_TTL.toSeconds() + "s", "distributed.instance-ttl=10s",
                "spring.data.redis.host=127.0.0.1", "spring.data.redis.port=" + server.port());

    @Test
    void closingTheLeaderShouldHandOverWithinOneSyncIntervalOnTheSharedFactory(CapturedOutput output) {
        this.contextRunner.run((first) -> {
            DistributedPoolManager leaving = first.getBean(DistributedPoolManager.class);
            awaitUntil(() -> leaving.status().isLeader(), LEADER_TTL.multipliedBy(3), leaving);
            String leavingId = leaving.instanceId();
            this.contextRunner.run((second) -> {
                DistributedPoolManager staying = second.getBean(DistributedPoolManager.class);
                awaitUntil(() -> staying.status().memberCount() == 2, Duration.ofSeconds(5));
                assertThat(staying.status().isLeader()).isFalse();

                long closing = System.nanoTime();
                first.close();
                Duration closed = Duration.ofNanos(System.nanoTime() - closing);
                awaitUntil(() -> staying.status().isLeader(), SYNC_INTERVAL.plus(SLACK));
                Duration handOver = Duration.ofNanos(System.nanoTime() - closing);
                awaitUntil(() -> notListed(staying.status(), leavingId), SYNC_INTERVAL.plus(SLACK));
                System.out.println("Shared-factory hand-over: close took " + closed.toMillis()
                        + " ms, the other instance led " + handOver.toMillis() + " ms after close began");

                assertThat(output).contains("Instance " + leavingId + " gave up leadership");
                assertThat(output).doesNotContain("could not give up leadership", "could not unregister",
                        "has been STOPPED");
            });
        });
    }

    @Test
    void aContextPauseShouldNotLeaveTheCluster() {
        this.contextRunner.run((context) -> {
            DistributedPoolManager manager = context.getBean(DistributedPoolManager.class);
            awaitUntil(() -> manager.status().isLeader(), LEADER_TTL.multipliedBy(3), manager);
            // A pause stops the (pauseable) connection factory, not coordination: resumed, it goes on.
            context.getSourceApplicationContext().pause();
            context.getSourceApplicationContext().start();
            awaitUntil(() -> manager.status().connected() && manager.status().isLeader(), LEADER_TTL.multipliedBy(3),
                    manager);
            assertThat(manager.status().members()).hasSize(1);
        });
    }

    private static boolean notListed(CoordinationStatus status, String instanceId) {
        return status.members().stream().noneMatch((member) -> member.id().equals(instanceId));
    }

    private static void awaitUntil(java.util.function.BooleanSupplier condition, Duration within,
            DistributedPoolManager manager) throws InterruptedException {
        try {
            awaitUntil(condition, within);
        }
        catch (AssertionError ex) {
            throw new AssertionError(ex.getMessage() + "; status: " + manager.status(), ex);
        }
    }

    private static void awaitUntil(java.util.function.BooleanSupplier condition, Duration within)
            throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition within %s", within).isLessThan(deadline);
            Thread.sleep(10);
        }
    }
}
