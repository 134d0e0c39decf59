package io.pivotpool.testsupport.redis;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

import io.pivotpool.testsupport.ServerProcesses;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@code redis-server} process of this JVM on a free loopback port (the binary comes from
 * {@link RedisSource}). It runs without persistence ({@code --save '' --appendonly no}) in a
 * temporary directory, optionally with {@code --requirepass}, and signals go to the process itself:
 * that is what makes kill -9, SIGSTOP and a restart on the same port real.
 */
final class RedisProcess implements RedisInstance {

    private static final Logger logger = LoggerFactory.getLogger(RedisProcess.class);

    private static final String HOST = "127.0.0.1";

    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(10);

    private static final Set<RedisProcess> running = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(RedisProcess::killAll, "redis-server-reaper"));
    }

    private final String binary;

    private final @Nullable String password;

    private final Path directory;

    /** Guards the process: starting, signalling and stopping it block, so no monitor is held. */
    private final ReentrantLock lock = new ReentrantLock();

    private int port;

    /** Volatile for the shutdown hook, which reads it without the lock. */
    private volatile @Nullable Process process;

    private boolean paused;

    private RedisProcess(String binary, @Nullable String password) {
        this.binary = binary;
        this.password = password;
        try {
            this.directory = Files.createTempDirectory("pivot-pool-redis-");
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    /** Starts {@code binary} on a free port, requiring {@code password} ({@code null}: none). */
    static RedisProcess start(String binary, @Nullable String password) {
        RedisProcess server = new RedisProcess(binary, password);
        IllegalStateException lastFailure = null;
        // Another process may take the free port between our probe and redis-server's bind: retry.
        for (int attempt = 0; attempt < 3; attempt++) {
            server.port = ServerProcesses.freePort();
            try {
                server.launch();
                return server;
            }
            catch (IllegalStateException ex) {
                lastFailure = ex;
            }
        }
        server.close();
        throw lastFailure;
    }

    @Override
    public String host() {
        return HOST;
    }

    @Override
    public int port() {
        return this.port;
    }

    /** Whether the process is alive (a paused one is). */
    @Override
    public boolean isRunning() {
        this.lock.lock();
        try {
            return this.process != null && this.process.isAlive();
        }
        finally {
            this.lock.unlock();
        }
    }

    /** Freezes the server (SIGSTOP): connections stay open, nothing answers. */
    @Override
    public void pause() {
        this.lock.lock();
        try {
            ServerProcesses.signal(this.process, "STOP", this);
            this.paused = true;
        }
        finally {
            this.lock.unlock();
        }
    }

    /** Lets a paused server go on (SIGCONT); it then answers everything that waited. */
    @Override
    public void resume() {
        this.lock.lock();
        try {
            ServerProcesses.signal(this.process, "CONT", this);
            this.paused = false;
        }
        finally {
            this.lock.unlock();
        }
    }

    /** Kills the server at once (SIGKILL); all its data is lost, as it never persists. */
    @Override
    public void kill9() {
        this.lock.lock();
        try {
            if (this.process != null) {
                this.process.destroyForcibly();
                ServerProcesses.waitFor(this.process);
                this.process = null;
                this.paused = false;
            }
        }
        finally {
            this.lock.unlock();
        }
    }

    /** Starts a new, empty server on the port of the old one, killing the old one if it still runs. */
    @Override
    public void restartOnSamePort() {
        this.lock.lock();
        try {
            kill9();
            long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
            while (true) {
                try {
                    launch();
                    return;
                }
                catch (IllegalStateException ex) {
                    // The old socket may linger for a moment after a kill.
                    if (System.nanoTime() > deadline) {
                        throw ex;
                    }
                    ServerProcesses.sleep(100, "redis-server");
                }
            }
        }
        finally {
            this.lock.unlock();
        }
    }

    /** Stops the server (SIGTERM, then SIGKILL if it lingers) and deletes its directory. */
    @Override
    public void close() {
        this.lock.lock();
        try {
            if (this.process != null) {
                if (this.paused) {
                    resume();
                }
                ServerProcesses.stop(this.process);
                this.process = null;
            }
            running.remove(this);
            ServerProcesses.deleteDirectory(this.directory);
        }
        finally {
            this.lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "redis-server on " + HOST + ":" + this.port;
    }

    private void launch() {
        this.lock.lock();
        try {
            List<String> command = new ArrayList<>(List.of(this.binary, "--port", Integer.toString(this.port), "--bind",
                    HOST, "--save", "", "--appendonly", "no", "--dir", this.directory.toString()));
            if (this.password != null) {
                command.add("--requirepass");
                command.add(this.password);
            }
            File log = this.directory.resolve("redis.log").toFile();
            try {
                this.process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log))
                    .start();
            }
            catch (IOException ex) {
                throw new IllegalStateException("Could not run " + this.binary + ": " + ex.getMessage(), ex);
            }
            running.add(this);
            long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
            while (!answersPing()) {
                if (!this.process.isAlive() || System.nanoTime() > deadline) {
                    this.process.destroyForcibly();
                    ServerProcesses.waitFor(this.process);
                    this.process = null;
                    throw new IllegalStateException("redis-server did not start on port " + this.port + "; its log:\n"
                            + ServerProcesses.tail(log, 20));
                }
                ServerProcesses.sleep(20, "redis-server");
            }
            logger.info("Started {} (pid {})", this, this.process.pid());
        }
        finally {
            this.lock.unlock();
        }
    }

    /** Whether something on the port speaks Redis (a NOAUTH error counts: the server is up). */
    private boolean answersPing() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(HOST, this.port), 200);
            socket.setSoTimeout(500);
            OutputStream out = socket.getOutputStream();
            out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            int first = in.read();
            return first == '+' || first == '-';
        }
        catch (IOException ex) {
            return false;
        }
    }


    private static void killAll() {
        for (RedisProcess server : running) {
            Process process = server.process;
            if (process != null) {
                process.destroyForcibly();
            }
        }
    }
}
