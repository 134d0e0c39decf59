package io.pivotpool.testsupport.redis;

import java.util.ArrayList;
import java.util.List;

import org.jspecify.annotations.Nullable;
import org.opentest4j.TestAbortedException;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * Redis in a container, for machines with a Docker engine and no {@code redis-server}. Loaded only
 * when Testcontainers is on the class path. Pause, resume and kill go to the container (the
 * freezer cgroup and SIGKILL, as for a process); a restart on the same port is what a container
 * cannot do, since Docker maps a new host port when it starts again, so those tests are skipped
 * here with that reason. Not exercised on our build machines, which have no Docker engine.
 */
final class RedisContainer implements RedisInstance {

    /** The Redis line CI installs from Debian. */
    static final DockerImageName IMAGE = DockerImageName.parse("redis:7.0");

    private static final int PORT = 6379;

    private final GenericContainer<?> container;

    private RedisContainer(GenericContainer<?> container) {
        this.container = container;
    }

    /**
     * Whether a Docker engine answers. Asking costs about half a second, and where none runs
     * Testcontainers logs an ERROR with every strategy it tried: on a machine without Docker that
     * is the expected answer, not an error of the build, so its loggers are silenced while it asks
     * (the fixture's own line says which Redis it chose).
     */
    static boolean dockerAnswers() {
        org.slf4j.Logger testcontainers = LoggerFactory.getLogger("org.testcontainers");
        if (!testcontainers.getClass().getName().equals("ch.qos.logback.classic.Logger")) {
            return DockerClientFactory.instance().isDockerAvailable();
        }
        ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) testcontainers;
        ch.qos.logback.classic.Level level = logger.getLevel();
        logger.setLevel(ch.qos.logback.classic.Level.OFF);
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        }
        finally {
            logger.setLevel(level);
        }
    }

    @SuppressWarnings("resource") // closed by close()
    static RedisContainer start(@Nullable String password) {
        List<String> command = new ArrayList<>(List.of("redis-server", "--save", "", "--appendonly", "no"));
        if (password != null) {
            command.add("--requirepass");
            command.add(password);
        }
        GenericContainer<?> container = new GenericContainer<>(IMAGE).withExposedPorts(PORT)
            .withCommand(command.toArray(String[]::new))
            .waitingFor(Wait.forLogMessage(".*Ready to accept connections.*\\n", 1));
        container.start();
        return new RedisContainer(container);
    }

    @Override
    public String host() {
        return this.container.getHost();
    }

    @Override
    public int port() {
        return this.container.getMappedPort(PORT);
    }

    @Override
    public boolean isRunning() {
        return this.container.isRunning();
    }

    @Override
    public void pause() {
        DockerClientFactory.instance().client().pauseContainerCmd(this.container.getContainerId()).exec();
    }

    @Override
    public void resume() {
        DockerClientFactory.instance().client().unpauseContainerCmd(this.container.getContainerId()).exec();
    }

    @Override
    public void kill9() {
        DockerClientFactory.instance().client().killContainerCmd(this.container.getContainerId())
            .withSignal("KILL")
            .exec();
    }

    @Override
    public void restartOnSamePort() {
        throw new TestAbortedException("Redis runs in a container here, and a container started again gets a new "
                + "host port: restarting on the same port needs a redis-server process (on the PATH or the one "
                + "bundled in " + RedisSource.EMBEDDED_ARTIFACT + ")");
    }

    @Override
    public void close() {
        this.container.stop();
    }

    @Override
    public String toString() {
        return IMAGE + " container on " + host() + ":" + port();
    }
}
