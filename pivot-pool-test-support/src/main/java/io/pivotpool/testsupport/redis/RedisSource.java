package io.pivotpool.testsupport.redis;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the tests' Redis comes from, decided once per JVM and logged in one line. In this order:
 * <ol>
 * <li>{@code $REDIS_SERVER}, the path of a {@code redis-server} binary;</li>
 * <li>{@code redis-server} on the {@code PATH} (CI installs the Debian package);</li>
 * <li>a {@code redis} container through Testcontainers, when it is on the class path and a Docker
 * engine answers;</li>
 * <li>the {@code redis-server} binary bundled in {@code com.github.codemonstur:embedded-redis}
 * (Redis 6.2 for Linux amd64/arm64 and macOS), copied to a temporary directory and run as a
 * process of its own, exactly like the one on the {@code PATH}.</li>
 * </ol>
 * Nothing else is needed on a machine with a JDK. When none of them works, every Redis test fails
 * with the reasons, on CI ({@code CI=true}) and everywhere else: it never skips.
 *
 * <p>The scripts use nothing younger than Redis 6.2 (the bundled version), and the suite runs
 * against 6.2 and 7.0; an older binary is refused by name rather than left to fail obscurely.
 */
final class RedisSource {

    private static final Logger logger = LoggerFactory.getLogger(RedisSource.class);

    static final String EMBEDDED_ARTIFACT = "com.github.codemonstur:embedded-redis:1.4.3";

    private static final int MIN_MAJOR = 6;

    private static final int MIN_MINOR = 2;

    private static final Pattern VERSION = Pattern.compile("v=(\\d+)\\.(\\d+)\\.(\\d+)");

    private static final String INSTALL = "Install redis-server 6.2 or newer (Debian/Ubuntu: apt-get install -y "
            + "redis-server, then 'service redis-server stop'; macOS: brew install redis) or point REDIS_SERVER at "
            + "the binary; or start a Docker engine; or put " + EMBEDDED_ARTIFACT + " on the test class path "
            + "(pivot-pool-test-support brings it).";

    /** Guarded by the class: the source of this JVM, or why there is none. */
    private static @Nullable RedisSource found;

    private static @Nullable IllegalStateException missing;

    /** The binary to run, or null to run a container. */
    private final @Nullable String binary;

    private final String description;

    private RedisSource(@Nullable String binary, String description) {
        this.binary = binary;
        this.description = description;
    }

    /** The source of this JVM, found (and logged) on first use; throws with the reasons if there is none. */
    static synchronized RedisSource get() {
        RedisSource source = found;
        if (source != null) {
            return source;
        }
        IllegalStateException reason = missing;
        if (reason == null) {
            try {
                source = find();
                found = source;
                return source;
            }
            catch (IllegalStateException ex) {
                missing = ex;
                reason = ex;
            }
        }
        throw new IllegalStateException(reason.getMessage(), reason);
    }

    /** Starts a server requiring {@code password} ({@code null}: none). */
    RedisInstance start(@Nullable String password) {
        return (this.binary != null) ? RedisProcess.start(this.binary, password) : RedisContainer.start(password);
    }

    /** The {@code redis-server} binary this JVM runs, or {@code null} when the servers are containers. */
    @Nullable String binary() {
        return this.binary;
    }

    @Override
    public String toString() {
        return this.description;
    }

    private static RedisSource find() {
        RedisSource source = configured();
        if (source == null) {
            source = onThePath();
        }
        if (source == null) {
            source = container();
        }
        String bundledProblem = null;
        if (source == null) {
            try {
                source = bundled();
            }
            catch (IllegalStateException ex) {
                bundledProblem = ex.getMessage();
            }
        }
        if (source == null) {
            String reasons = "No Redis for the tests: no redis-server on the PATH (nor REDIS_SERVER), no Docker "
                    + "engine answering Testcontainers, and " + bundledProblem + ". ";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                throw new IllegalStateException("CI=true: the Redis tests must run against a real server on CI "
                        + "and do not skip. " + reasons + INSTALL);
            }
            throw new IllegalStateException(reasons + "The Redis tests run against a real server and do not skip. "
                    + INSTALL);
        }
        logger.info("Redis for tests: {}", source);
        return source;
    }

    private static @Nullable RedisSource configured() {
        String configured = System.getenv("REDIS_SERVER");
        if (configured == null || configured.isBlank()) {
            return null;
        }
        if (!new File(configured).canExecute()) {
            throw new IllegalStateException("REDIS_SERVER=" + configured + " is not an executable file");
        }
        return new RedisSource(configured, "redis-server " + checkedVersion(configured, "REDIS_SERVER") + " from "
                + "REDIS_SERVER (" + configured + ")");
    }

    private static @Nullable RedisSource onThePath() {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String directory : path.split(File.pathSeparator)) {
            File candidate = new File(directory, "redis-server");
            if (candidate.isFile() && candidate.canExecute()) {
                String binary = candidate.getPath();
                return new RedisSource(binary, "redis-server " + checkedVersion(binary, "the PATH") + " on the PATH ("
                        + binary + ")");
            }
        }
        return null;
    }

    private static @Nullable RedisSource container() {
        try {
            Class.forName("org.testcontainers.DockerClientFactory", false, RedisSource.class.getClassLoader());
        }
        catch (ClassNotFoundException ex) {
            return null;
        }
        if (!RedisContainer.dockerAnswers()) {
            return null;
        }
        return new RedisSource(null, "a " + RedisContainer.IMAGE + " container through Testcontainers (no "
                + "redis-server on the PATH); tests that restart Redis on the same port are skipped in a container");
    }

    /** The bundled binary for this platform, copied out of the jar; throws the reason if there is none. */
    private static RedisSource bundled() {
        String resource = bundledResource();
        if (resource == null) {
            throw new IllegalStateException(EMBEDDED_ARTIFACT + " bundles no redis-server for "
                    + System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        }
        Path binary;
        try (InputStream in = RedisSource.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(EMBEDDED_ARTIFACT + " is not on the test class path");
            }
            Path directory = Files.createTempDirectory("pivot-pool-redis-bin-");
            binary = directory.resolve("redis-server");
            // deleteOnExit runs in reverse order: the file first, then its directory.
            directory.toFile().deleteOnExit();
            binary.toFile().deleteOnExit();
            Files.copy(in, binary, StandardCopyOption.REPLACE_EXISTING);
        }
        catch (IOException ex) {
            throw new IllegalStateException("the redis-server bundled in " + EMBEDDED_ARTIFACT
                    + " could not be copied out: " + ex.getMessage(), ex);
        }
        if (!binary.toFile().setExecutable(true, true)) {
            throw new IllegalStateException("the redis-server bundled in " + EMBEDDED_ARTIFACT
                    + " could not be made executable in " + binary.getParent());
        }
        String version = checkedVersion(binary.toString(), EMBEDDED_ARTIFACT);
        return new RedisSource(binary.toString(), "redis-server " + version + " bundled in " + EMBEDDED_ARTIFACT
                + " (" + resource + ", copied to " + binary + "), for want of a redis-server on the PATH or a Docker "
                + "engine for Testcontainers");
    }

    /** The jar's binaries are named after the Redis release and the platform. */
    private static @Nullable String bundledResource() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        boolean amd64 = arch.equals("amd64") || arch.equals("x86_64");
        boolean arm64 = arch.equals("aarch64") || arch.equals("arm64");
        if (os.contains("linux")) {
            return amd64 ? "redis-server-6.2.6-v5-linux-amd64" : arm64 ? "redis-server-6.2.7-linux-arm64" : null;
        }
        if (os.contains("mac")) {
            return amd64 ? "redis-server-6.2.6-v5-darwin-amd64" : arm64 ? "redis-server-6.2.6-v5-darwin-arm64" : null;
        }
        return null;
    }

    /** Runs {@code binary --version}; the version if it runs and is new enough, else the reason. */
    private static String checkedVersion(String binary, String origin) {
        String output;
        try {
            Process process = new ProcessBuilder(binary, "--version").redirectErrorStream(true).start();
            output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!process.waitFor(10, TimeUnit.SECONDS) || process.exitValue() != 0) {
                process.destroyForcibly();
                throw new IllegalStateException("the redis-server from " + origin + " (" + binary
                        + ") does not run: " + output);
            }
        }
        catch (IOException ex) {
            throw new IllegalStateException("the redis-server from " + origin + " (" + binary + ") does not run: "
                    + ex.getMessage(), ex);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while asking " + binary + " for its version", ex);
        }
        Matcher version = VERSION.matcher(output);
        if (!version.find()) {
            throw new IllegalStateException("the redis-server from " + origin + " (" + binary
                    + ") printed no version: " + output);
        }
        int major = Integer.parseInt(version.group(1));
        int minor = Integer.parseInt(version.group(2));
        if (major < MIN_MAJOR || (major == MIN_MAJOR && minor < MIN_MINOR)) {
            throw new IllegalStateException("the redis-server from " + origin + " (" + binary + ") is "
                    + version.group().substring(2) + ": the Redis tests need " + MIN_MAJOR + "." + MIN_MINOR
                    + " or newer. " + INSTALL);
        }
        return version.group().substring(2);
    }
}
