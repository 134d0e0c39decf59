package io.pivotpool.testsupport.redis;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real Redis server for tests, on a port of its own, as a JUnit extension:
 *
 * <pre>{@code
 * @RegisterExtension
 * static final RedisServer server = RedisServer.fixture();     // one server for the class
 *
 * @RegisterExtension
 * final RedisServer server = RedisServer.fixture("secret");    // a new one for every test
 * }</pre>
 *
 * It starts before the class's {@code @BeforeAll} (or the test's {@code @BeforeEach}) methods and
 * stops after the matching {@code @AfterAll} ({@code @AfterEach}) ones, so those can still use it.
 * Outside JUnit, {@link #start()} gives a running server to close yourself.
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
 * fails with the reasons: Redis-backed tests never skip for want of a server, on CI
 * ({@code CI=true}) or anywhere else.
 */
public final class RedisServer implements AutoCloseable, BeforeAllCallback, AfterAllCallback, BeforeEachCallback,
        AfterEachCallback {

    private final @Nullable String password;

    private volatile @Nullable RedisInstance instance;

    /** Whether the running server belongs to the current test rather than to the class. */
    private boolean perTest;

    private RedisServer(@Nullable String password) {
        this.password = password;
    }

    /** A server without a password, started and stopped by JUnit ({@code @RegisterExtension}). */
    public static RedisServer fixture() {
        return new RedisServer(null);
    }

    /** A server that requires {@code password}, started and stopped by JUnit ({@code @RegisterExtension}). */
    public static RedisServer fixture(String password) {
        return new RedisServer(password);
    }

    /** Starts a server without a password now; close it yourself. */
    public static RedisServer start() {
        return start(null);
    }

    /** Starts a server that requires {@code password} ({@code null}: none) now; close it yourself. */
    public static RedisServer start(@Nullable String password) {
        RedisServer server = new RedisServer(password);
        server.instance = RedisSource.get().start(password);
        return server;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        this.instance = RedisSource.get().start(this.password);
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        if (this.instance == null) {
            this.instance = RedisSource.get().start(this.password);
            this.perTest = true;
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (this.perTest) {
            this.perTest = false;
            close();
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        close();
    }

    public String host() {
        return running().host();
    }

    public int port() {
        return running().port();
    }

    /** The password the server requires, or {@code null}. */
    public @Nullable String password() {
        return this.password;
    }

    /** Whether the server is alive (a paused one is). */
    public boolean isRunning() {
        RedisInstance current = this.instance;
        return current != null && current.isRunning();
    }

    /** Freezes the server (SIGSTOP): connections stay open, nothing answers. */
    public void pause() {
        running().pause();
    }

    /** Lets a paused server go on (SIGCONT); it then answers everything that waited. */
    public void resume() {
        running().resume();
    }

    /** Kills the server at once (SIGKILL); all its data is lost, as it never persists. */
    public void kill9() {
        running().kill9();
    }

    /** Starts a new, empty server on the port of the old one, killing the old one if it still runs. */
    public void restartOnSamePort() {
        running().restartOnSamePort();
    }

    /** Stops the server and removes what it left behind; a no-op if it is not running. */
    @Override
    public void close() {
        RedisInstance current = this.instance;
        this.instance = null;
        if (current != null) {
            current.close();
        }
    }

    @Override
    public String toString() {
        RedisInstance current = this.instance;
        return (current != null) ? current.toString() : "Redis server (not started)";
    }

    private RedisInstance running() {
        RedisInstance current = this.instance;
        if (current == null) {
            throw new IllegalStateException("The Redis server is not started: register the fixture with "
                    + "@RegisterExtension, or use RedisServer.start()");
        }
        return current;
    }
}
