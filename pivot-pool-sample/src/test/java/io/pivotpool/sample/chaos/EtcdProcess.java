package io.pivotpool.sample.chaos;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One {@code etcd} member on free loopback ports with a fresh data directory, started with the
 * same flags as the etcd module's test fixture ({@code EtcdServer}, whose test classes the sample
 * cannot reach): 50 ms heartbeat, 500 ms election timeout, so the shortest lease is 1 s. The chaos
 * test kills it ({@code kill -9}) and restarts it on the same ports and data directory, so its
 * keys, leases and revisions survive. A missing binary fails with install instructions.
 */
final class EtcdProcess implements AutoCloseable {

    private static final String HOST = "127.0.0.1";

    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(20);

    private final String binary;

    private final int clientPort;

    private final int peerPort;

    private final Path directory;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(300)).build();

    private volatile Process process;

    private boolean started;

    private EtcdProcess(String binary, int clientPort, int peerPort, Path directory) {
        this.binary = binary;
        this.clientPort = clientPort;
        this.peerPort = peerPort;
        this.directory = directory;
    }

    static EtcdProcess start() {
        Path directory;
        try {
            directory = Files.createTempDirectory("pivot-chaos-etcd-");
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        EtcdProcess etcd = new EtcdProcess(binary(), freePort(), freePort(), directory);
        Runtime.getRuntime().addShutdownHook(new Thread(etcd::destroy, "etcd-reaper"));
        etcd.launch();
        return etcd;
    }

    String endpoint() {
        return "http://" + HOST + ":" + this.clientPort;
    }

    /** A crash: SIGKILL; the data directory stays. */
    void kill9() {
        destroy();
    }

    /** The same member on the same ports and data directory. */
    void restart() {
        destroy();
        launch();
    }

    @Override
    public void close() {
        Process current = this.process;
        if (current != null) {
            current.destroy();
            try {
                if (!current.waitFor(5, TimeUnit.SECONDS)) {
                    destroy();
                }
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                destroy();
            }
        }
        try (Stream<Path> paths = Files.walk(this.directory)) {
            paths.sorted(Comparator.reverseOrder()).forEach((path) -> path.toFile().delete());
        }
        catch (IOException ex) {
            // A temporary directory left behind fails nothing.
        }
    }

    @Override
    public String toString() {
        Process current = this.process;
        return "etcd on " + endpoint() + ((current != null) ? " (pid " + current.pid() + ")" : " (not running)")
                + ", data and log in " + this.directory;
    }

    private void destroy() {
        Process current = this.process;
        if (current != null) {
            current.destroyForcibly();
            try {
                current.waitFor(5, TimeUnit.SECONDS);
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            this.process = null;
        }
    }

    private void launch() {
        String clientUrl = endpoint();
        String peerUrl = "http://" + HOST + ":" + this.peerPort;
        List<String> command = new ArrayList<>(List.of(this.binary, "--name", "chaos", "--data-dir",
                this.directory.resolve("data").toString(), "--listen-client-urls", clientUrl, "--advertise-client-urls",
                clientUrl, "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl,
                "--initial-cluster", "chaos=" + peerUrl, "--initial-cluster-state", this.started ? "existing" : "new",
                "--heartbeat-interval", "50", "--election-timeout", "500", "--logger", "zap", "--log-level", "warn"));
        long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
        while (true) {
            try {
                this.process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(this.directory.resolve("etcd.log").toFile()))
                    .start();
            }
            catch (IOException ex) {
                throw new UncheckedIOException("Could not run " + this.binary, ex);
            }
            SampleInstance.sleep(100);
            // A socket lingering after the kill: try again.
            if (this.process.isAlive() || System.nanoTime() > deadline) {
                break;
            }
        }
        this.started = true;
        while (!healthy()) {
            if (!this.process.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException(this + " did not become healthy within "
                        + STARTUP_TIMEOUT.toSeconds() + " s");
            }
            SampleInstance.sleep(50);
        }
    }

    private boolean healthy() {
        try {
            HttpResponse<String> response = this.http.send(HttpRequest.newBuilder(URI.create(endpoint() + "/health"))
                .timeout(Duration.ofMillis(500))
                .build(), HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 && response.body().replace(" ", "").contains("\"health\":\"true\"");
        }
        catch (IOException ex) {
            return false;
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static String binary() {
        String configured = System.getenv("ETCD");
        if (configured != null && !configured.isBlank()) {
            return configured;
        }
        String path = System.getenv("PATH");
        if (path != null) {
            for (String directory : path.split(File.pathSeparator)) {
                File candidate = new File(directory, "etcd");
                if (candidate.canExecute()) {
                    return candidate.getPath();
                }
            }
        }
        throw new IllegalStateException("etcd is not on the PATH: the etcd chaos run needs a real server. Install it "
                + "(Debian/Ubuntu: apt-get install -y etcd-server; macOS: brew install etcd) or point ETCD at the binary.");
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            return socket.getLocalPort();
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
