package io.pivotpool.testsupport.etcd;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import io.pivotpool.testsupport.ServerProcesses;
import io.pivotpool.testsupport.TestCertificates;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Real {@code etcd} processes on free loopback ports, for tests: one member ({@link #start()}) or a
 * cluster of several ({@link #startCluster(int)}), each member with a fresh data directory.
 *
 * <p>A test can simulate failures on a member: {@link Member#pause()} and {@link Member#resume()}
 * (SIGSTOP / SIGCONT: a hung server or a partition), {@link Member#kill9()} (a crash) and
 * {@link Member#restart()} (the same member on the same ports and data directory: its data
 * survives, as etcd's whole point is).
 *
 * <p>{@link #startWithTls(TestCertificates)} and {@link #startWithMutualTls(TestCertificates)}
 * start one member that serves clients over TLS only ({@code https://} client URL, the
 * certificates' server certificate), the latter also requiring a client certificate signed by their
 * CA ({@code --client-cert-auth}). The peer URL stays plain: no test needs TLS between members, and
 * the fixture checks health on a plain metrics URL of its own so that it needs no client certificate.
 *
 * <p>Members run with a 50 ms heartbeat and a 500 ms election timeout, so that etcd's shortest
 * lease is 1 s (1.5 election timeouts, rounded up) and a lost Raft leader is replaced within about
 * a second; with the defaults (100 ms, 1 s) the shortest lease is 2 s.
 *
 * <p>The binary is {@code $ETCD} or {@code etcd} on the {@code PATH}; the etcd coordinator is never
 * tested against anything but a real server. If it is missing, on CI ({@code CI=true}) the test
 * fails with instructions; elsewhere (a newcomer's machine with only a JDK, where no Maven artifact
 * can provide an etcd) the tests that need it are skipped, each with the same instructions, so that
 * the README's test command still passes there and says what it did not run.
 */
public final class EtcdServer implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(EtcdServer.class);

    private static final String HOST = "127.0.0.1";

    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(20);

    private static final Set<Member> running = ConcurrentHashMap.newKeySet();

    private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(300)).build();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(EtcdServer::killAll, "etcd-reaper"));
    }

    private final List<Member> members;

    private EtcdServer(List<Member> members) {
        this.members = members;
    }

    /** Starts one member. */
    public static EtcdServer start() {
        return startCluster(1);
    }

    /** Starts one member that serves clients over TLS only, with the certificates' server certificate. */
    public static EtcdServer startWithTls(TestCertificates certificates) {
        return start(1, new Tls(certificates, false));
    }

    /**
     * Starts one member that serves clients over TLS only and refuses any client without a
     * certificate signed by the certificates' CA ({@code --client-cert-auth}).
     */
    public static EtcdServer startWithMutualTls(TestCertificates certificates) {
        return start(1, new Tls(certificates, true));
    }

    /** Starts a cluster of {@code size} members on loopback and waits until every member is healthy. */
    public static EtcdServer startCluster(int size) {
        return start(size, null);
    }

    private static EtcdServer start(int size, @Nullable Tls tls) {
        String binary = findBinary();
        // Every member is told the whole cluster when it starts: the peer ports first, then the members.
        List<Integer> peerPorts = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            peerPorts.add(ServerProcesses.freePort());
        }
        String initialCluster = IntStream.range(0, size).mapToObj(i -> "m" + i + "=" + peerUrl(peerPorts.get(i)))
            .collect(Collectors.joining(","));
        List<Member> members = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            members.add(new Member(binary, "m" + i, ServerProcesses.freePort(), peerPorts.get(i), tls, initialCluster));
        }
        EtcdServer server = new EtcdServer(members);
        try {
            members.forEach(Member::launch);
            members.forEach(Member::awaitHealthy);
        }
        catch (RuntimeException ex) {
            server.close();
            throw ex;
        }
        return server;
    }

    public List<Member> members() {
        return this.members;
    }

    public Member member() {
        return this.members.get(0);
    }

    /** Every member's client URL. */
    public List<String> endpoints() {
        return this.members.stream().map(Member::clientUrl).toList();
    }

    /** The member that is the Raft leader now, as the members report it. */
    public Member raftLeader() {
        for (Member member : this.members) {
            if (member.isRunning() && member.isLeader()) {
                return member;
            }
        }
        throw new IllegalStateException("no member reports being the Raft leader");
    }

    @Override
    public void close() {
        this.members.forEach(Member::close);
    }

    @Override
    public String toString() {
        return "etcd " + endpoints();
    }

    /** How a member serves its clients over TLS; {@code null} for plain text. */
    private record Tls(TestCertificates certificates, boolean clientCertificateRequired) {
    }

    /** One etcd process. */
    public static final class Member {

        private final String binary;

        private final String name;

        private final int clientPort;

        private final int peerPort;

        /** Null: clients are served in plain text. */
        private final @Nullable Tls tls;

        /** Where health and metrics are served in plain text when the client URL is TLS; else 0. */
        private final int metricsPort;

        private final Path directory;

        private final ReentrantLock lock = new ReentrantLock();

        /** Every member's name and peer URL, as {@code --initial-cluster} takes them. */
        private final String initialCluster;

        private volatile @Nullable Process process;

        private boolean paused;

        private boolean started;

        Member(String binary, String name, int clientPort, int peerPort, @Nullable Tls tls, String initialCluster) {
            this.binary = binary;
            this.name = name;
            this.clientPort = clientPort;
            this.peerPort = peerPort;
            this.tls = tls;
            this.initialCluster = initialCluster;
            this.metricsPort = (tls != null) ? ServerProcesses.freePort() : 0;
            try {
                this.directory = dataDirectory();
            }
            catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
        }

        public String clientUrl() {
            return ((this.tls != null) ? "https://" : "http://") + HOST + ":" + this.clientPort;
        }

        /** Where the fixture asks for {@code /health} and {@code /metrics}: plain text, no certificate needed. */
        private String monitorUrl() {
            return (this.tls != null) ? "http://" + HOST + ":" + this.metricsPort : clientUrl();
        }

        String peerUrl() {
            return EtcdServer.peerUrl(this.peerPort);
        }

        public boolean isRunning() {
            Process current = this.process;
            return current != null && current.isAlive() && !this.paused;
        }

        /** Freezes the member (SIGSTOP): connections stay open, nothing answers. */
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

        /** Lets a paused member go on (SIGCONT). */
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

        /** Kills the member at once (SIGKILL); its data directory stays. */
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

        /** Starts the member again on the same ports and data directory (killing it first if it runs). */
        public void restart() {
            this.lock.lock();
            try {
                kill9();
                launch();
                awaitHealthy();
            }
            finally {
                this.lock.unlock();
            }
        }

        /** Stops the member (SIGTERM, then SIGKILL if it lingers) and deletes its data directory. */
        void close() {
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

        private void launch() {
            List<String> command = new ArrayList<>(List.of(this.binary, "--name", this.name, "--data-dir",
                    this.directory.resolve("data").toString(), "--listen-client-urls", clientUrl(),
                    "--advertise-client-urls", clientUrl(), "--listen-peer-urls", peerUrl(),
                    "--initial-advertise-peer-urls", peerUrl(), "--initial-cluster", this.initialCluster,
                    "--initial-cluster-state", this.started ? "existing" : "new", "--heartbeat-interval", "50",
                    "--election-timeout", "500", "--max-txn-ops", "100000", "--max-request-bytes", "33554432",
                    "--logger", "zap", "--log-level", "warn"));
            if (this.tls != null) {
                TestCertificates certificates = this.tls.certificates();
                command.addAll(List.of("--cert-file", certificates.serverCertificate().toString(), "--key-file",
                        certificates.serverKey().toString(), "--listen-metrics-urls", monitorUrl()));
                if (this.tls.clientCertificateRequired()) {
                    command.addAll(List.of("--client-cert-auth", "--trusted-ca-file",
                            certificates.caCertificate().toString()));
                }
            }
            File log = this.directory.resolve("etcd.log").toFile();
            long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
            while (true) {
                try {
                    this.process = new ProcessBuilder(command).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.appendTo(log))
                        .start();
                }
                catch (IOException ex) {
                    throw new IllegalStateException("Could not run " + this.binary + ": " + ex.getMessage(), ex);
                }
                running.add(this);
                ServerProcesses.sleep(100, "etcd");
                // A port taken between the probe and the bind, or a socket lingering after a kill: try again.
                if (this.process.isAlive() || System.nanoTime() > deadline) {
                    break;
                }
            }
            this.started = true;
            logger.info("Started etcd member {} on {} (pid {})", this.name, clientUrl(), this.process.pid());
        }

        private void awaitHealthy() {
            long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
            while (!isHealthy()) {
                if (this.process == null || !this.process.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("etcd member " + this.name + " did not become healthy on "
                            + clientUrl() + "; its log:\n" + ServerProcesses.tail(this.directory.resolve("etcd.log").toFile(), 20));
                }
                ServerProcesses.sleep(50, "etcd");
            }
        }

        /** {@code GET /health} answers {@code "health":"true"}. */
        public boolean isHealthy() {
            String body = get("/health");
            return body != null && body.replace(" ", "").contains("\"health\":\"true\"");
        }

        /** Whether this member is the Raft leader ({@code etcd_server_is_leader 1} in {@code GET /metrics}). */
        boolean isLeader() {
            String body = get("/metrics");
            return body != null && body.lines().anyMatch(line -> line.trim().equals("etcd_server_is_leader 1"));
        }

        /** The body of a 200 answer to {@code GET path}, or null if there was none. */
        private @Nullable String get(String path) {
            try {
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(monitorUrl() + path))
                    .timeout(Duration.ofMillis(500))
                    .GET()
                    .build(), HttpResponse.BodyHandlers.ofString());
                return (response.statusCode() == 200) ? response.body() : null;
            }
            catch (IOException ex) {
                return null;
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                return null;
            }
        }

        @Override
        public String toString() {
            return "etcd member " + this.name + " on " + clientUrl();
        }
    }

    private static String peerUrl(int peerPort) {
        return "http://" + HOST + ":" + peerPort;
    }

    private static String findBinary() {
        String configured = System.getenv("ETCD");
        if (configured != null && !configured.isBlank()) {
            if (new File(configured).canExecute()) {
                return configured;
            }
            throw new IllegalStateException("ETCD=" + configured + " is not an executable file");
        }
        String onPath = ServerProcesses.onPath("etcd");
        if (onPath != null) {
            return onPath;
        }
        throw ServerProcesses.unavailable("etcd is not on the PATH: the etcd coordinator tests run against a real "
                + "server, and .ci/run installs it. Install it (Debian/Ubuntu: apt-get install -y etcd-server, then "
                + "stop the system service with 'service etcd stop'; macOS: brew install etcd) or point ETCD at the "
                + "binary.");
    }

    /**
     * A fresh data directory, in memory ({@code /dev/shm}) where there is one: every etcd write
     * waits for an fsync, which on a shared disk can take tens of milliseconds and would measure
     * the disk rather than the coordinator.
     */
    private static Path dataDirectory() throws IOException {
        Path memory = Path.of("/dev/shm");
        if (Files.isDirectory(memory) && Files.isWritable(memory)) {
            return Files.createTempDirectory(memory, "pivot-pool-etcd-");
        }
        return Files.createTempDirectory("pivot-pool-etcd-");
    }

    private static void killAll() {
        for (Member member : running) {
            Process process = member.process;
            if (process != null) {
                process.destroyForcibly();
            }
        }
    }
}
