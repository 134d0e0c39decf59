package io.pivotpool.sample.chaos;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.pivotpool.sample.SampleApplication;

/**
 * One sample application in a JVM of its own, started from this test's class path, that a test
 * can crash ({@code kill -9}), freeze ({@code kill -STOP}) and thaw ({@code kill -CONT}). Its
 * output goes to a file, and every instance still alive when the test JVM exits is killed by a
 * shutdown hook, so that a failed or interrupted run leaves no JVM behind.
 */
final class SampleInstance implements AutoCloseable {

    enum State {
        RUNNING, FROZEN, KILLED
    }

    private static final Set<Process> children = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime()
            .addShutdownHook(new Thread(() -> children.forEach(Process::destroyForcibly), "sample-instance-reaper"));
    }

    /** Small and quick to start: the instances only serve a few hundred requests a second. */
    private static final List<String> JVM_OPTIONS = List.of("-Xms64m", "-Xmx256m", "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC");

    private final String name;

    private final Path log;

    private final int port;

    private final Process process;

    /** When the instance was down (killed, or frozen until thawed); read by the load threads. */
    private final List<Disruption> disruptions = new CopyOnWriteArrayList<>();

    private volatile State state = State.RUNNING;

    private SampleInstance(String name, Path log, int port, Process process) {
        this.name = name;
        this.log = log;
        this.port = port;
        this.process = process;
    }

    /**
     * Starts an instance and waits until it serves {@code readyPath}. It is started again (at most
     * three times) when its port was taken between our probe and Tomcat's bind, or when it could
     * not connect to Redis in time: three JVMs starting at once on two busy cores can starve one.
     */
    static SampleInstance start(String name, List<String> arguments, Path logDirectory, HttpClient http,
            String readyPath, Duration startupTimeout) {
        return start(name, List.of(), arguments, logDirectory, http, readyPath, startupTimeout);
    }

    /** As {@link #start(String, List, Path, HttpClient, String, Duration)}, with JVM options of its own. */
    static SampleInstance start(String name, List<String> jvmOptions, List<String> arguments, Path logDirectory,
            HttpClient http, String readyPath, Duration startupTimeout) {
        IllegalStateException lastFailure = null;
        for (int attempt = 1; attempt <= 3; attempt++) {
            SampleInstance instance = launch(name, jvmOptions, arguments,
                    logDirectory.resolve(name + "-" + attempt + ".log"));
            try {
                instance.awaitReady(http, readyPath, startupTimeout);
                return instance;
            }
            catch (IllegalStateException ex) {
                instance.close();
                lastFailure = ex;
                String log = instance.logTail(200);
                if (!log.contains("already in use") && !log.contains("could not connect")) {
                    break;
                }
            }
        }
        throw lastFailure;
    }

    private static SampleInstance launch(String name, List<String> jvmOptions, List<String> arguments, Path log) {
        int port = freePort();
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JVM_OPTIONS);
        command.addAll(jvmOptions);
        command.add("-Dchaos.instance=" + name);
        command.add("-cp");
        // Surefire may hand us a manifest-only jar; its Class-Path attribute is honoured on -cp too.
        command.add(System.getProperty("java.class.path"));
        command.add(SampleApplication.class.getName());
        command.add("--server.port=" + port);
        command.addAll(arguments);
        try {
            Files.createDirectories(log.getParent());
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
            children.add(process);
            return new SampleInstance(name, log, port, process);
        }
        catch (IOException ex) {
            throw new UncheckedIOException("Could not start sample instance " + name, ex);
        }
    }

    private void awaitReady(HttpClient http, String path, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        HttpRequest request = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(2)).build();
        while (System.nanoTime() < deadline) {
            if (!this.process.isAlive()) {
                throw new IllegalStateException(this + " exited with " + this.process.exitValue()
                        + " during start-up; its log " + this.log + " ends:\n" + logTail(40));
            }
            try {
                if (http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            }
            catch (IOException ex) {
                // Not listening yet.
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("Interrupted while " + this + " started", ex);
            }
            sleep(200);
        }
        throw new IllegalStateException(this + " did not serve " + path + " within " + timeout.toSeconds()
                + " s; its log " + this.log + " ends:\n" + logTail(40));
    }

    String name() {
        return this.name;
    }

    int port() {
        return this.port;
    }

    long pid() {
        return this.process.pid();
    }

    State state() {
        return this.state;
    }

    Path log() {
        return this.log;
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + this.port + path);
    }

    /** A crash: SIGKILL, so that nothing (no shutdown hook, no graceful release) runs. */
    void kill9() {
        this.disruptions.add(new Disruption(System.nanoTime(), Long.MAX_VALUE));
        this.state = State.KILLED;
        this.process.toHandle().destroyForcibly();
        waitFor();
    }

    /** A long pause (GC, VM migration, a partition that heals): SIGSTOP, nothing in the JVM runs. */
    void freeze() {
        this.disruptions.add(new Disruption(System.nanoTime(), Long.MAX_VALUE));
        this.state = State.FROZEN;
        signal("STOP");
    }

    void thaw() {
        signal("CONT");
        int last = this.disruptions.size() - 1;
        this.disruptions.set(last, new Disruption(this.disruptions.get(last).fromNanos(), System.nanoTime()));
        this.state = State.RUNNING;
    }

    /** Whether the instance was killed or frozen at some point between two System.nanoTime() values. */
    boolean disruptedBetween(long fromNanos, long toNanos) {
        for (Disruption window : this.disruptions) {
            if (window.fromNanos() <= toNanos && fromNanos <= window.toNanos()) {
                return true;
            }
        }
        return false;
    }

    String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(this.log, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        }
        catch (IOException | UncheckedIOException ex) {
            return "(unreadable: " + ex.getMessage() + ")";
        }
    }

    /** Kills the JVM (a frozen one too: SIGKILL needs no SIGCONT). */
    @Override
    public void close() {
        if (this.state != State.KILLED) {
            this.state = State.KILLED;
            this.process.toHandle().destroyForcibly();
        }
        waitFor();
        children.remove(this.process);
    }

    @Override
    public String toString() {
        return "sample instance " + this.name + " (pid " + this.process.pid() + ", port " + this.port + ")";
    }

    private void signal(String signal) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(this.process.pid())).start();
            if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new IllegalStateException("kill -" + signal + " " + this.process.pid() + " failed");
            }
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while sending SIG" + signal + " to " + this, ex);
        }
    }

    private void waitFor() {
        try {
            this.process.waitFor(5, TimeUnit.SECONDS);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted", ex);
        }
    }

    /** From SIGKILL or SIGSTOP to SIGCONT (Long.MAX_VALUE while it lasts), in System.nanoTime(). */
    private record Disruption(long fromNanos, long toNanos) {
    }
}
