package io.pivotpool.testsupport;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.jspecify.annotations.Nullable;
import org.opentest4j.TestAbortedException;
import org.slf4j.LoggerFactory;

/**
 * What every real-server fixture of the kit (Redis, Sentinel, Cluster nodes, etcd) does with its
 * processes: pick a free loopback port, show the end of a log, signal, stop and wait for a
 * process, delete a data directory. One place, so that the fixtures differ only in how their
 * server is started.
 */
public final class ServerProcesses {

    /** The only address the fixtures listen on. */
    public static final String HOST = "127.0.0.1";

    private ServerProcesses() {
    }

    /** A port free on the loopback interface now (the server binds it a moment later). */
    public static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    /** The last {@code lines} lines of a log, for a failure message. */
    public static String tail(File log, int lines) {
        try {
            List<String> all = Files.readAllLines(log.toPath());
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        }
        catch (IOException ex) {
            return "(no readable " + log.getName() + ": " + ex.getMessage() + ")";
        }
    }

    /** The executable {@code name} in a directory of the {@code PATH}, or null when there is none. */
    public static @Nullable String onPath(String name) {
        String path = System.getenv("PATH");
        if (path != null) {
            for (String directory : path.split(File.pathSeparator)) {
                File candidate = new File(directory, name);
                if (candidate.canExecute()) {
                    return candidate.getPath();
                }
            }
        }
        return null;
    }

    /**
     * For something a test needs that this machine lacks (a server binary, a tool, a feature of
     * the binary): on CI ({@code CI=true}) the test fails, since CI installs everything the tests
     * need; elsewhere (a newcomer's machine with only a JDK) it is skipped with the reason, which
     * should say how to get what is missing, so that the README's test command still passes.
     *
     * @param what what is missing and how to get it, as a sentence that follows "CI=true and "
     */
    public static RuntimeException unavailable(String what) {
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            return new IllegalStateException("CI=true and " + what);
        }
        LoggerFactory.getLogger(ServerProcesses.class).warn("SKIPPED on this machine (CI runs it): {}", what);
        return new TestAbortedException(what + " (skipped here; with CI=true it fails instead)");
    }

    /** Waits up to 5 s for {@code process} to exit. */
    public static void waitFor(Process process) {
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Sends {@code signal} ({@code STOP}, {@code CONT}, ...) to {@code process}, as {@code kill}
     * does: how a fixture freezes a server (connections stay open, nothing answers) and lets it go.
     *
     * @param process the server's process, null when it is not running (which fails)
     * @param what the server, for the failure message
     */
    public static void signal(@Nullable Process process, String signal, Object what) {
        if (process == null) {
            throw new IllegalStateException(what + " is not running");
        }
        try {
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).start();
            if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new IllegalStateException("kill -" + signal + " " + process.pid() + " (" + what + ") failed");
            }
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

    /** Stops {@code process}: SIGTERM, then SIGKILL if it is still there after 5 s. */
    public static void stop(Process process) {
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                waitFor(process);
            }
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    /** Sleeps, turning an interruption into a failure that says what was awaited. */
    public static void sleep(long millis, String awaited) {
        try {
            Thread.sleep(millis);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for " + awaited, ex);
        }
    }

    /** Deletes a directory and everything in it; a leftover temporary directory fails nothing. */
    public static void deleteDirectory(Path directory) {
        try (Stream<Path> paths = Files.walk(directory)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
        catch (IOException ex) {
            // nothing to do: it is a temporary directory
        }
    }
}
