package io.pivotpool.benchmarks.redis;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.redis.RedisCoordinator;
import io.pivotpool.redis.RedisCoordinatorSettings;
import io.pivotpool.testsupport.redis.RedisServer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the Redis coordinator costs per operation, next to the same round trip made with Lettuce
 * directly on the same server: {@code raw*} are plain Lettuce commands, {@code coordinator*} the
 * coordinator's operations (Spring Data Redis, a script where the operation has several steps).
 * The target is at most 1.3 times the raw latency.
 *
 * <p>The server is {@code -Dpivot.bench.redis=host:port} if given, otherwise a throw-away
 * {@code redis-server} on a free loopback port (the one on the {@code PATH}, else the one bundled in
 * {@code embedded-redis}: see {@code RedisServer}).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Threads(1)
public class RedisCoordinatorLatencyBenchmark {

    private static final byte[] KEY = "{bench}:raw:k".getBytes(StandardCharsets.UTF_8);

    private static final byte[] QUEUE = "{bench}:raw:q".getBytes(StandardCharsets.UTF_8);

    private static final byte[] VALUE = "a value of a few dozen bytes, like a small JSON".getBytes(StandardCharsets.UTF_8);

    @Benchmark
    public byte[] rawGet(Redis redis) {
        return redis.raw.get(KEY);
    }

    @Benchmark
    public String rawSet(Redis redis) {
        return redis.raw.set(KEY, VALUE);
    }

    @Benchmark
    public byte[] rawPushPop(Redis redis) {
        redis.raw.lpush(QUEUE, VALUE);
        return redis.raw.rpop(QUEUE);
    }

    @Benchmark
    public Optional<byte[]> coordinatorGet(Redis redis) {
        return redis.coordinator.get("k");
    }

    @Benchmark
    public void coordinatorSet(Redis redis) {
        redis.coordinator.set("k", VALUE, null);
    }

    @Benchmark
    public Optional<byte[]> coordinatorPushPop(Redis redis) {
        redis.coordinator.push("q", VALUE);
        return redis.coordinator.pop("q");
    }

    /** A leader's renewal: one script (type checks, HGETs, HSET, PEXPIRE) in one round trip. */
    @Benchmark
    public Optional<LeaderLease> coordinatorRenewLeadership(Redis redis) {
        return redis.coordinator.tryAcquireLeadership("bench-leader", Duration.ofSeconds(30));
    }

    @State(Scope.Benchmark)
    public static class Redis {

        RedisServer server;

        RedisClient client;

        StatefulRedisConnection<byte[], byte[]> connection;

        RedisCommands<byte[], byte[]> raw;

        RedisCoordinator coordinator;

        @Setup(Level.Trial)
        public void start() {
            String host = "127.0.0.1";
            int port;
            String external = System.getProperty("pivot.bench.redis");
            if (external != null && !external.isBlank()) {
                host = external.substring(0, external.lastIndexOf(':'));
                port = Integer.parseInt(external.substring(external.lastIndexOf(':') + 1));
            }
            else {
                this.server = RedisServer.start();
                port = this.server.port();
            }
            this.client = RedisClient.create(RedisURI.create(host, port));
            this.connection = this.client.connect(ByteArrayCodec.INSTANCE);
            this.raw = this.connection.sync();
            this.raw.set(KEY, VALUE);
            this.coordinator = RedisCoordinator.create(RedisCoordinatorSettings.builder()
                .host(host)
                .port(port)
                .namespace("bench")
                .build());
            this.coordinator.connect();
            this.coordinator.set("k", VALUE, null);
        }

        @TearDown(Level.Trial)
        public void stop() {
            this.coordinator.close();
            this.connection.close();
            this.client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            if (this.server != null) {
                this.server.close();
            }
        }
    }
}
