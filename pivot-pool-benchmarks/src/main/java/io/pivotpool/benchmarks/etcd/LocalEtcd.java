package io.pivotpool.benchmarks.etcd;

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
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throw-away single-member {@code etcd} on free loopback ports with a fresh data directory, for
 * the benchmarks. It starts etcd exactly as the etcd module's test fixture ({@code EtcdServer} in
 * {@code pivot-pool-etcd}'s tests, not reachable from here) does: 50 ms heartbeat and 500 ms
 * election timeout, so the shortest lease is 1 s and a benchmark can renew a 1 s leader-ttl as the
 * Redis one does. The data directory is on {@code /dev/shm} where there is one: every etcd write
 * waits for an fsync of its log, and on a disk shared with other builds those fsyncs, not the
 * client, set the figures (a first run on disk measured a 24 ms ± 189 ms put). The coordinator
 * and the raw calls it is compared with wait for the same fsyncs either way. The binary is {@code $ETCD} or {@code etcd} on the {@code PATH}
 * ({@code apt-get install -y etcd-server}).
 */
public final class LocalEtcd implements AutoCloseable {

    private static final String HOST = "127.0.0.1";

    private final Process process;

    private final Path directory;

    private final int clientPort;

    private LocalEtcd(Process process, Path directory, int clientPort) {
        this.process = process;
        this.directory = directory;
        this.clientPort = clientPort;
    }

    /** Starts etcd and waits (at most 20 s) until {@code GET /health} says it is healthy. */
    public static LocalEtcd start() {
        String binary = binary();
        int clientPort = freePort();
        int peerPort = freePort();
        String clientUrl = "http://" + HOST + ":" + clientPort;
        String peerUrl = "http://" + HOST + ":" + peerPort;
        Path directory;
        Process process;
        try {
            Path memory = Path.of("/dev/shm");
            directory = Files.isDirectory(memory) && Files.isWritable(memory)
                    ? Files.createTempDirectory(memory, "pivot-bench-etcd-")
                    : Files.createTempDirectory("pivot-bench-etcd-");
            process = new ProcessBuilder(List.of(binary, "--name", "bench", "--data-dir",
                    directory.resolve("data").toString(), "--listen-client-urls", clientUrl,
                    "--advertise-client-urls", clientUrl, "--listen-peer-urls", peerUrl,
                    "--initial-advertise-peer-urls", peerUrl, "--initial-cluster", "bench=" + peerUrl,
                    "--heartbeat-interval", "50", "--election-timeout", "500", "--logger", "zap",
                    "--log-level", "warn"))
                .redirectErrorStream(true)
                .redirectOutput(directory.resolve("etcd.log").toFile())
                .start();
        }
        catch (IOException ex) {
            throw new UncheckedIOException("could not start " + binary, ex);
        }
        LocalEtcd etcd = new LocalEtcd(process, directory, clientPort);
        Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly, "etcd-reaper"));
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(300)).build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!etcd.healthy(http)) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                etcd.close();
                throw new IllegalStateException("etcd did not become healthy on " + clientUrl + " (see "
                        + directory.resolve("etcd.log") + ")");
            }
            sleep(50);
        }
        System.err.println("LocalEtcd: " + binary + " on " + clientUrl + " (pid " + process.pid() + ")");
        return etcd;
    }

    public String endpoint() {
        return "http://" + HOST + ":" + this.clientPort;
    }

    private boolean healthy(HttpClient http) {
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(endpoint() + "/health"))
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

    /** SIGTERM (SIGKILL after 5 s), then deletes the data directory. */
    @Override
    public void close() {
        this.process.destroy();
        try {
            if (!this.process.waitFor(5, TimeUnit.SECONDS)) {
                this.process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            this.process.destroyForcibly();
        }
        try (Stream<Path> paths = Files.walk(this.directory)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
        catch (IOException ex) {
            // A temporary directory left behind is no reason to fail a trial.
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
        throw new IllegalStateException("etcd is not on the PATH: install it (Debian/Ubuntu: apt-get install -y "
                + "etcd-server; macOS: brew install etcd) or point ETCD at the binary");
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            return socket.getLocalPort();
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }
}
