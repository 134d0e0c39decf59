package io.pivotpool.testsupport.redis;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.pivotpool.testsupport.ServerProcesses;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code redis-server} process started from a configuration file the test writes, for the
 * deployments {@link RedisServer} does not cover: TLS ({@code tls-port}), ACL users, a Cluster node
 * ({@code cluster-enabled yes}) or a Sentinel ({@code --sentinel}). It uses the binary
 * {@link RedisSource} found for this JVM ({@code $REDIS_SERVER}, the {@code PATH}, or the one bundled
 * in embedded-redis) and listens on a free loopback port.
 *
 * <p>The configuration text may use {@code ${port}} (the free port chosen for it: give it to
 * {@code port} or, for TLS only, to {@code tls-port} with {@code port 0}) and {@code ${dir}} (its
 * own temporary directory). {@code bind 127.0.0.1}, {@code dir}, and no persistence are set for it
 * before the test's lines, which may override them. Close it to stop it (SIGTERM, then SIGKILL) and
 * delete its directory.
 *
 * <p>Containers are not supported: without a binary it fails, saying so. A configuration the binary
 * does not know (TLS on a build without it) fails with the server's own log and a hint.
 */
public final class RedisNode implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(RedisNode.class);

    private static final String HOST = "127.0.0.1";

    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(10);

    private static final Set<RedisNode> running = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> running.forEach(node -> {
            Process process = node.process;
            if (process != null) {
                process.destroyForcibly();
            }
        }), "redis-node-reaper"));
    }

    private final String name;

    private final Path directory;

    private final int port;

    private volatile @Nullable Process process;

    private RedisNode(String name, Path directory, int port) {
        this.name = name;
        this.directory = directory;
        this.port = port;
    }

    /** Starts {@code redis-server} with {@code config} (see the class comment for its placeholders). */
    public static RedisNode start(String name, String config) {
        return start(name, config, false);
    }

    /** Starts {@code redis-server CONFIG --sentinel}: a Sentinel, which rewrites its own file. */
    public static RedisNode startSentinel(String name, String config) {
        return start(name, config, true);
    }

    private static RedisNode start(String name, String config, boolean sentinel) {
        String binary = binary();
        IllegalStateException lastFailure = null;
        // Another process may take the free port between our probe and redis-server's bind: retry.
        for (int attempt = 0; attempt < 3; attempt++) {
            Path directory;
            try {
                directory = Files.createTempDirectory("pivot-pool-redis-node-");
            }
            catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
            RedisNode node = new RedisNode(name, directory, ServerProcesses.freePort());
            try {
                node.launch(binary, config, sentinel);
                return node;
            }
            catch (IllegalStateException ex) {
                node.close();
                lastFailure = ex;
                String message = String.valueOf(ex.getMessage());
                if (message.contains("Bad directive") || message.contains("TLS")) {
                    break;
                }
            }
        }
        throw lastFailure;
    }

    /** The {@code redis-server} binary of this JVM; fails naming the reason if the tests run containers. */
    public static String binary() {
        String binary = RedisSource.get().binary();
        if (binary == null) {
            throw new IllegalStateException("RedisNode runs a redis-server process, but this JVM's Redis is "
                    + RedisSource.get() + ": install redis-server (Debian: apt-get install -y redis-server) or set "
                    + "REDIS_SERVER");
        }
        return binary;
    }

    /**
     * {@code redis-cli} next to the {@code redis-server} binary, or on the {@code PATH}; {@code null} if
     * there is none (the binary bundled in embedded-redis comes without it).
     */
    public static @Nullable String cli() {
        File sibling = new File(new File(binary()).getParentFile(), "redis-cli");
        if (sibling.canExecute()) {
            return sibling.getPath();
        }
        String path = System.getenv("PATH");
        if (path != null) {
            for (String directory : path.split(File.pathSeparator)) {
                File candidate = new File(directory, "redis-cli");
                if (candidate.isFile() && candidate.canExecute()) {
                    return candidate.getPath();
                }
            }
        }
        return null;
    }

    public String host() {
        return HOST;
    }

    /** The port it listens on (the TLS port when the configuration gave {@code ${port}} to {@code tls-port}). */
    public int port() {
        return this.port;
    }

    /** Its own directory: configuration, log, cluster state. */
    public Path directory() {
        return this.directory;
    }

    public boolean isRunning() {
        Process current = this.process;
        return current != null && current.isAlive();
    }

    /** Kills it at once (SIGKILL). */
    public void kill9() {
        Process current = this.process;
        if (current != null) {
            current.destroyForcibly();
            ServerProcesses.waitFor(current);
        }
    }

    /** The last lines of its log. */
    public String log() {
        return ServerProcesses.tail(this.directory.resolve("redis.log").toFile(), 40);
    }

    @Override
    public void close() {
        Process current = this.process;
        this.process = null;
        if (current != null) {
            ServerProcesses.stop(current);
        }
        running.remove(this);
        ServerProcesses.deleteDirectory(this.directory);
    }

    @Override
    public String toString() {
        return this.name + " (redis-server on " + HOST + ":" + this.port + ")";
    }

    private void launch(String binary, String config, boolean sentinel) {
        Path file = this.directory.resolve(sentinel ? "sentinel.conf" : "redis.conf");
        File log = this.directory.resolve("redis.log").toFile();
        String text = "bind " + HOST + "\ndir " + this.directory + "\nlogfile " + log + "\n"
                + (sentinel ? "" : "save \"\"\nappendonly no\n") + config.replace("${port}", Integer.toString(this.port))
                    .replace("${dir}", this.directory.toString()) + "\n";
        try {
            Files.writeString(file, text);
            List<String> command = sentinel ? List.of(binary, file.toString(), "--sentinel")
                    : List.of(binary, file.toString());
            this.process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(this.directory.resolve("stdout.log").toFile()))
                .start();
        }
        catch (IOException ex) {
            throw new IllegalStateException("Could not run " + binary + ": " + ex.getMessage(), ex);
        }
        running.add(this);
        long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
        while (!accepts()) {
            if (!this.process.isAlive() || System.nanoTime() > deadline) {
                this.process.destroyForcibly();
                ServerProcesses.waitFor(this.process);
                String output = ServerProcesses.tail(this.directory.resolve("stdout.log").toFile(), 20) + "\n" + ServerProcesses.tail(log, 20);
                String hint = (config.contains("tls-") && output.contains("Bad directive"))
                        ? "\nThis redis-server was built without TLS (the one bundled in embedded-redis 6.2 is): "
                                + "install Debian's redis-server 7.0 or point REDIS_SERVER at a build with TLS."
                        : "";
                throw new IllegalStateException(this + " did not start (" + binary + "); its output:\n" + output + hint);
            }
            ServerProcesses.sleep(20, "redis-server");
        }
        logger.info("Started {} (pid {})", this, this.process.pid());
    }

    private boolean accepts() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(HOST, this.port), 200);
            return true;
        }
        catch (IOException ex) {
            return false;
        }
    }

}
