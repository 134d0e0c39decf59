package io.pivotpool.benchmarks.redis;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Iterator;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * TCP forwarders on loopback that count the bytes each way: one {@link Route} per simulated
 * instance, so that every instance's traffic with {@code redis-server} is measured exactly (Redis
 * 7.0's {@code CLIENT LIST} has no per-client byte counters). The counts are the application bytes
 * (RESP) that cross the socket, as Redis's own {@code total_net_input_bytes} and
 * {@code total_net_output_bytes} count them, without TCP/IP headers.
 *
 * <p>One selector thread serves every route, so a hundred instances cost one thread, not two
 * hundred. Writes spin until done: replies of a few kilobytes on loopback never fill a socket
 * buffer for long.
 */
final class ByteCountingProxy implements AutoCloseable {

    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private final Selector selector;

    private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();

    private final ByteBuffer buffer = ByteBuffer.allocateDirect(64 * 1024);

    private final Thread thread;

    private volatile boolean closed;

    ByteCountingProxy() {
        try {
            this.selector = Selector.open();
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        this.thread = new Thread(this::loop, "byte-counting-proxy");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /** A new listening port on loopback that forwards every connection to {@code targetPort}. */
    Route open(int targetPort) {
        try {
            ServerSocketChannel listener = ServerSocketChannel.open();
            listener.bind(new InetSocketAddress(LOOPBACK, 0));
            listener.configureBlocking(false);
            Route route = new Route(listener, targetPort);
            CompletableFuture<Void> registered = new CompletableFuture<>();
            this.tasks.add(() -> {
                try {
                    listener.register(this.selector, SelectionKey.OP_ACCEPT, route);
                    registered.complete(null);
                }
                catch (IOException ex) {
                    registered.completeExceptionally(ex);
                }
            });
            this.selector.wakeup();
            registered.join();
            return route;
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private void loop() {
        while (!this.closed) {
            try {
                this.selector.select(100);
                Runnable task;
                while ((task = this.tasks.poll()) != null) {
                    task.run();
                }
                Iterator<SelectionKey> keys = this.selector.selectedKeys().iterator();
                while (keys.hasNext()) {
                    SelectionKey key = keys.next();
                    keys.remove();
                    if (!key.isValid()) {
                        continue;
                    }
                    if (key.isAcceptable()) {
                        accept((Route) key.attachment());
                    }
                    else if (key.isReadable()) {
                        forward(key, (Pipe) key.attachment());
                    }
                }
            }
            catch (IOException | RuntimeException ex) {
                if (!this.closed) {
                    System.err.println("byte-counting proxy: " + ex);
                }
            }
        }
    }

    private void accept(Route route) throws IOException {
        SocketChannel client = route.listener.accept();
        if (client == null) {
            return;
        }
        SocketChannel server = SocketChannel.open(new InetSocketAddress(LOOPBACK, route.targetPort));
        for (SocketChannel channel : new SocketChannel[] { client, server }) {
            channel.configureBlocking(false);
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        }
        client.register(this.selector, SelectionKey.OP_READ, new Pipe(client, server, route.toServer));
        server.register(this.selector, SelectionKey.OP_READ, new Pipe(server, client, route.fromServer));
        route.connections.incrementAndGet();
    }

    private void forward(SelectionKey key, Pipe pipe) {
        try {
            this.buffer.clear();
            int read = pipe.from.read(this.buffer);
            if (read < 0) {
                closeBoth(pipe);
                return;
            }
            pipe.counter.addAndGet(read);
            this.buffer.flip();
            while (this.buffer.hasRemaining()) {
                if (pipe.to.write(this.buffer) == 0) {
                    Thread.onSpinWait();
                }
            }
        }
        catch (IOException ex) {
            closeBoth(pipe);
        }
    }

    private static void closeBoth(Pipe pipe) {
        try {
            pipe.from.close();
        }
        catch (IOException ignored) {
            // closing anyway
        }
        try {
            pipe.to.close();
        }
        catch (IOException ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        this.closed = true;
        this.selector.wakeup();
        try {
            this.thread.join(2000);
            for (SelectionKey key : this.selector.keys()) {
                key.channel().close();
            }
            this.selector.close();
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    /** One instance's way to the server, with what it sent and received. */
    static final class Route {

        final ServerSocketChannel listener;

        final int targetPort;

        /** Bytes the instance sent to Redis (requests). */
        final AtomicLong toServer = new AtomicLong();

        /** Bytes Redis sent to the instance (replies). */
        final AtomicLong fromServer = new AtomicLong();

        final AtomicLong connections = new AtomicLong();

        Route(ServerSocketChannel listener, int targetPort) {
            this.listener = listener;
            this.targetPort = targetPort;
        }

        int port() {
            return this.listener.socket().getLocalPort();
        }
    }

    private record Pipe(SocketChannel from, SocketChannel to, AtomicLong counter) {
    }
}
