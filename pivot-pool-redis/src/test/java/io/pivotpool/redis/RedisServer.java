package io.pivotpool.redis;

/**
 * A real Redis server for tests, on a port of its own.
 *
 * <p>It runs without persistence, optionally with {@code --requirepass}, and lets a test simulate
 * failures on it: {@link #pause()} and {@link #resume()} (SIGSTOP / SIGCONT: a hung server or a
 * partition), {@link #kill9()} (a crash) and {@link #restartOnSamePort()} (a new, empty server
 * where the old one was).
 *
 * <p>Where the server comes from is decided once per JVM and logged in one line (see
 * {@link RedisSource}): {@code $REDIS_SERVER} or {@code redis-server} on the {@code PATH}; else a
 * container through Testcontainers when a Docker engine answers; else the {@code redis-server}
 * binary bundled in {@code com.github.codemonstur:embedded-redis}, run as a process of its own. A
 * process is signalled directly, so every failure above is real. Without any of them the test
 * fails with instructions: Redis-backed tests never skip for want of a server, on CI
 * ({@code CI=true}) or anywhere else.
 *
 * <p>Published in this module's test-jar so that other modules' tests start servers the same way.
 */
public final class RedisServer implements AutoCloseable {

    private final RedisInstance instance;

    private final String password;

    private RedisServer(RedisInstance instance, String password) {
        this.instance = instance;
        this.password = password;
    }

    /** Starts a server without a password. */
    public static RedisServer start() {
        return start(null);
    }

    /** Starts a server that requires {@code password} ({@code null}: none). */
    public static RedisServer start(String password) {
        return new RedisServer(RedisSource.get().start(password), password);
    }

    public String host() {
        return this.instance.host();
    }

    public int port() {
        return this.instance.port();
    }

    /** The password the server requires, or {@code null}. */
    public String password() {
        return this.password;
    }

    /** Whether the server is alive (a paused one is). */
    public boolean isRunning() {
        return this.instance.isRunning();
    }

    /** Freezes the server (SIGSTOP): connections stay open, nothing answers. */
    public void pause() {
        this.instance.pause();
    }

    /** Lets a paused server go on (SIGCONT); it then answers everything that waited. */
    public void resume() {
        this.instance.resume();
    }

    /** Kills the server at once (SIGKILL); all its data is lost, as it never persists. */
    public void kill9() {
        this.instance.kill9();
    }

    /** Starts a new, empty server on the port of the old one, killing the old one if it still runs. */
    public void restartOnSamePort() {
        this.instance.restartOnSamePort();
    }

    /** Stops the server and removes what it left behind. */
    @Override
    public void close() {
        this.instance.close();
    }

    @Override
    public String toString() {
        return this.instance.toString();
    }
}
