package io.pivotpool.redis;

import java.time.Duration;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.pivotpool.testsupport.redis.RedisServer;

/** A plain Lettuce connection to a test server, to look at keys or plant garbage behind a coordinator's back. */
final class RawRedis implements AutoCloseable {

    private final RedisClient client;

    private final StatefulRedisConnection<String, String> connection;

    RawRedis(RedisServer server) {
        RedisURI.Builder uri = RedisURI.builder().withHost(server.host()).withPort(server.port())
            .withTimeout(Duration.ofSeconds(2));
        if (server.password() != null) {
            uri.withPassword(server.password().toCharArray());
        }
        this.client = RedisClient.create(uri.build());
        this.connection = this.client.connect();
    }

    /**
     * Makes {@code namespace} look like one whose cluster has been running: its term counter exists,
     * and the last lease ended long ago, so the first candidate leads at once instead of waiting out
     * the cold-start fence (one leader-ttl, see RedisScripts.ACQUIRE_LEADERSHIP). Tests about timing
     * and the contract start from there; RedisLeadershipSafetyTests proves the cold start itself.
     */
    void establish(String namespace) {
        establish(commands(), namespace);
    }

    /** {@link #establish(String)} through any connection (a cluster's, a Sentinel's master). */
    static void establish(io.lettuce.core.api.sync.RedisStringCommands<String, String> commands, String namespace) {
        commands.setnx("{" + namespace + "}:term", "1");
        commands.setnx("{" + namespace + "}:leader-until", "0");
    }

    /** {@link #establish(String)} on a connection of its own. */
    static void establish(RedisServer server, String namespace) {
        try (RawRedis raw = new RawRedis(server)) {
            raw.establish(namespace);
        }
    }

    RedisCommands<String, String> commands() {
        return this.connection.sync();
    }

    @Override
    public void close() {
        this.connection.close();
        this.client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }
}
