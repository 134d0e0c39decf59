package io.pivotpool.redis;

import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisListAsyncCommands;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.codec.ByteArrayCodec;

/**
 * Blocking pops ({@code BRPOP}) on connections of their own.
 *
 * <p>A {@code BRPOP} occupies its connection until it returns, so it must never run on the
 * connection all other operations share. Spring Data Redis runs blocking commands on a dedicated
 * connection too, but takes their timeout in whole seconds and waits for them no longer than the
 * command timeout; so these connections are opened from the connection factory's own Lettuce
 * client (same server, credentials, database and TLS) and kept for reuse while they are healthy.
 * One connection serves one pop at a time; concurrent pops open more.
 *
 * <p>A long wait is cut into slices of at most the operation timeout, each a {@code BRPOP} with a
 * server-side timeout that the client waits for up to one more operation timeout. A connection
 * whose command failed or timed out may still have a {@code BRPOP} pending on the server, so it is
 * closed rather than reused.
 */
final class BlockingPops implements AutoCloseable {

    private final AbstractRedisClient client;

    private final long sliceMillis;

    private final Duration connectionTimeout;

    private final ConcurrentLinkedDeque<StatefulConnection<byte[], byte[]>> idle = new ConcurrentLinkedDeque<>();

    private final Set<StatefulConnection<byte[], byte[]>> open = ConcurrentHashMap.newKeySet();

    private volatile boolean closed;

    BlockingPops(AbstractRedisClient client, Duration operationTimeout) {
        if (!(client instanceof RedisClient) && !(client instanceof RedisClusterClient)) {
            throw new IllegalArgumentException("Blocking pops need a Lettuce RedisClient or RedisClusterClient, got "
                    + ((client != null) ? client.getClass().getName() : null));
        }
        this.client = client;
        this.sliceMillis = Math.max(1, operationTimeout.toMillis());
        // Lettuce times a command out after the connection's timeout: one slice plus the operation timeout.
        this.connectionTimeout = operationTimeout.multipliedBy(2);
    }

    /**
     * Waits up to {@code timeout} for a message at the tail of {@code key}.
     *
     * @return the message, or empty if none came in time or the pops were closed meanwhile
     * @throws ExecutionException if Redis answered with an error (a wrong type, for instance)
     * @throws TimeoutException if Redis did not answer a slice in time
     * @throws InterruptedException if the calling thread was interrupted
     */
    Optional<byte[]> pop(byte[] key, Duration timeout) throws ExecutionException, TimeoutException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        StatefulConnection<byte[], byte[]> connection = borrow();
        boolean reusable = false;
        try {
            while (true) {
                long remainingMillis = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (remainingMillis < 1 || this.closed) {
                    // BRPOP with a zero timeout would block forever: below a millisecond, stop.
                    reusable = true;
                    return Optional.empty();
                }
                long slice = Math.min(remainingMillis, this.sliceMillis);
                RedisFuture<KeyValue<byte[], byte[]>> popped = commands(connection).brpop(slice / 1000.0, key);
                KeyValue<byte[], byte[]> message;
                try {
                    message = popped.get(slice + this.sliceMillis, TimeUnit.MILLISECONDS);
                }
                catch (ExecutionException ex) {
                    if (this.closed) {
                        return Optional.empty();
                    }
                    throw ex;
                }
                if (message != null && message.hasValue()) {
                    reusable = true;
                    return Optional.of(message.getValue());
                }
            }
        }
        finally {
            giveBack(connection, reusable);
        }
    }

    private StatefulConnection<byte[], byte[]> borrow() {
        StatefulConnection<byte[], byte[]> connection = this.idle.pollFirst();
        if (connection != null && connection.isOpen()) {
            return connection;
        }
        if (connection != null) {
            discard(connection);
        }
        connection = connect();
        connection.setTimeout(this.connectionTimeout);
        this.open.add(connection);
        if (this.closed) {
            discard(connection);
            throw new IllegalStateException("closed");
        }
        return connection;
    }

    private StatefulConnection<byte[], byte[]> connect() {
        if (this.client instanceof RedisClusterClient cluster) {
            return cluster.connect(ByteArrayCodec.INSTANCE);
        }
        return ((RedisClient) this.client).connect(ByteArrayCodec.INSTANCE);
    }

    @SuppressWarnings("unchecked")
    private static RedisListAsyncCommands<byte[], byte[]> commands(StatefulConnection<byte[], byte[]> connection) {
        if (connection instanceof StatefulRedisClusterConnection<?, ?> cluster) {
            return ((StatefulRedisClusterConnection<byte[], byte[]>) cluster).async();
        }
        return ((StatefulRedisConnection<byte[], byte[]>) connection).async();
    }

    private void giveBack(StatefulConnection<byte[], byte[]> connection, boolean reusable) {
        if (reusable && !this.closed && connection.isOpen()) {
            this.idle.addFirst(connection);
            if (this.closed && this.idle.remove(connection)) {
                discard(connection);
            }
        }
        else {
            discard(connection);
        }
    }

    private void discard(StatefulConnection<byte[], byte[]> connection) {
        if (this.open.remove(connection)) {
            connection.closeAsync();
        }
    }

    /** Closes every connection; pops waiting on one return empty. */
    @Override
    public void close() {
        this.closed = true;
        this.idle.clear();
        for (StatefulConnection<byte[], byte[]> connection : this.open) {
            discard(connection);
        }
    }
}
