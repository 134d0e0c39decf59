package io.pivotpool.benchmarks.redis;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.NoOpCoordinator;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.distributed.DistributedSettings;
import io.pivotpool.distributed.GlobalCapacity;
import io.pivotpool.etcd.EtcdCoordinator;
import io.pivotpool.etcd.EtcdCoordinatorSettings;
import io.pivotpool.pool.Overflow;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolSettings;
import io.pivotpool.pool.PoolSpec;
import io.pivotpool.redis.RedisCoordinator;
import io.pivotpool.redis.RedisCoordinatorSettings;
import io.pivotpool.testsupport.etcd.EtcdServer;
import io.pivotpool.testsupport.redis.RedisServer;

/**
 * The CPU that coordination takes, apart from any borrower: {@link CoordinatedBorrowBenchmark}'s
 * set-up (one instance, one pool of 10 under {@code global-max-size} 100, the same settings per
 * sync-interval) with nobody borrowing, so that everything measured is the coordination's. Not a
 * JMH benchmark: a plain program, run from the benchmarks jar (see BENCHMARKS.md):
 *
 * <pre>
 * java -cp pivot-pool-benchmarks/target/benchmarks.jar io.pivotpool.benchmarks.redis.CoordinationCpuProbe \
 *     --backends=noop,redis,etcd --sync-ms=100,2000 --warm-s=30 --measure-s=30
 * </pre>
 *
 * <p>For each backend and sync-interval it starts a fresh server (Redis or etcd, on loopback),
 * lets the manager run {@code --warm-s} seconds (so the JIT has compiled the client's code, as in
 * a long-running application), then measures over {@code --measure-s} seconds: the JVM's CPU time
 * (all its threads: the manager's, the client library's, the JIT and the GC), the server
 * process's CPU time ({@code /proc/PID/stat}: Linux only), both per second of wall time, the
 * busiest thread groups, and the server's requests per sync round (etcd's gRPC counters, Redis's
 * {@code total_commands_processed}). On a machine of C cores that borrowing threads fill, the
 * coordination's share of the machine, (JVM − NoOp's JVM + server) ÷ (C × 1000 ms/s), is what a
 * borrow-throughput ratio against NoOp loses to it, whatever the borrow path does.
 */
public final class CoordinationCpuProbe {

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new HashMap<>();
        for (String arg : args) {
            String[] pair = arg.replaceFirst("^--", "").split("=", 2);
            options.put(pair[0], pair.length > 1 ? pair[1] : "");
        }
        List<String> backends = List.of(options.getOrDefault("backends", "noop,redis,etcd").split(","));
        List<String> intervals = List.of(options.getOrDefault("sync-ms", "100,2000").split(","));
        long warm = Long.parseLong(options.getOrDefault("warm-s", "30"));
        long measure = Long.parseLong(options.getOrDefault("measure-s", "30"));
        System.out.printf(Locale.ROOT, "%d cores; warm-up %d s, measured %d s%n",
                Runtime.getRuntime().availableProcessors(), warm, measure);
        for (String interval : intervals) {
            for (String backend : backends) {
                probe(backend, Integer.parseInt(interval), warm, measure);
            }
        }
        System.exit(0);
    }

    private static void probe(String backend, int syncMillis, long warmSeconds, long measureSeconds)
            throws Exception {
        RedisServer redis = null;
        EtcdServer etcd = null;
        Coordinator coordinator;
        if (backend.equals("redis")) {
            redis = RedisServer.start();
            coordinator = RedisCoordinator.create(RedisCoordinatorSettings.builder()
                .host("127.0.0.1")
                .port(redis.port())
                .namespace("bench")
                .build());
        }
        else if (backend.equals("etcd")) {
            etcd = EtcdServer.start();
            coordinator = EtcdCoordinator.create(EtcdCoordinatorSettings.builder()
                .endpoints(etcd.member().clientUrl())
                .namespace("bench")
                .build());
        }
        else {
            coordinator = new NoOpCoordinator();
        }
        // The settings of CoordinatedBorrowBenchmark for this interval.
        DistributedSettings.Builder builder = DistributedSettings.builder()
            .enabled(true)
            .coordination(backend)
            .syncInterval(Duration.ofMillis(syncMillis));
        if (syncMillis < 1000) {
            builder.leaderTtl(Duration.ofSeconds(1));
        }
        if (backend.equals("etcd") && syncMillis < 1000) {
            builder.instanceTtl(Duration.ofSeconds(1));
        }
        DistributedSettings settings = builder.build();
        DistributedPoolManager manager = new DistributedPoolManager(coordinator,
                settings, DistributedPoolManager.localInstance(Map.of("probe", "coordination-cpu")));
        Pool<Object> pool = Pool.create(PoolSpec.of("coordinated", Object::new),
                PoolSettings.builder().minIdle(10).maxSize(10).overflow(Overflow.WAIT).build());
        manager.addPool(pool, GlobalCapacity.of(100));
        manager.start();
        try {
            Thread.sleep(warmSeconds * 1000);
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            Map<Long, Long> threadsBefore = threadCpu(threads);
            long requestsBefore = requests(redis, etcd);
            long jvmBefore = jvmCpu();
            long serverBefore = childrenCpu();
            long start = System.nanoTime();
            Thread.sleep(measureSeconds * 1000);
            double seconds = (System.nanoTime() - start) / 1e9;
            double jvm = (jvmCpu() - jvmBefore) / 1e6 / seconds;
            double server = (childrenCpu() - serverBefore) / 1e6 / seconds;
            long requests = requests(redis, etcd) - requestsBefore;
            double rounds = seconds * 1000 / syncMillis;
            boolean active = manager.status().connected() && manager.status().activeBackend().equals(backend);
            System.out.printf(Locale.ROOT,
                    "%-5s sync %5d ms: JVM %6.1f ms CPU/s, server %5.1f ms CPU/s, %4.1f server requests/round%s%n",
                    backend, syncMillis, jvm, server, requests / rounds, active ? "" : "  (NOT coordinating: "
                            + manager.status().lastError() + ")");
            Map<String, Long> byGroup = new TreeMap<>();
            threadsBefore.forEach((id, before) -> {
                ThreadInfo info = threads.getThreadInfo(id);
                long now = threads.getThreadCpuTime(id);
                if (info != null && now >= 0) {
                    byGroup.merge(info.getThreadName().replaceAll("[0-9]+", "N"), now - before, Long::sum);
                }
            });
            byGroup.entrySet().stream()
                .filter(group -> group.getValue() / 1e6 / seconds >= 0.5)
                .sorted((x, y) -> Long.compare(y.getValue(), x.getValue()))
                .forEach(group -> System.out.printf(Locale.ROOT, "      %-40s %6.1f ms CPU/s%n", group.getKey(),
                        group.getValue() / 1e6 / seconds));
        }
        finally {
            pool.close();
            manager.close();
            coordinator.close();
            if (redis != null) {
                redis.close();
            }
            if (etcd != null) {
                etcd.close();
            }
        }
    }

    /** CPU time per live thread (threads born during the window are not counted: none should be). */
    private static Map<Long, Long> threadCpu(ThreadMXBean threads) {
        Map<Long, Long> cpu = new HashMap<>();
        for (long id : threads.getAllThreadIds()) {
            cpu.put(id, threads.getThreadCpuTime(id));
        }
        return cpu;
    }

    private static long jvmCpu() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
            .getProcessCpuTime();
    }

    /** User + system CPU time of this JVM's child processes (the servers it started), in ns. */
    private static long childrenCpu() {
        return ProcessHandle.current().descendants().mapToLong(process -> {
            try {
                String stat = Files.readString(Path.of("/proc/" + process.pid() + "/stat"));
                String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                // utime and stime, fields 14 and 15 of proc(5), in clock ticks (USER_HZ, 100 on Linux).
                return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * 10_000_000L;
            }
            catch (IOException | RuntimeException ex) {
                return 0;
            }
        }).sum();
    }

    /** Requests the server has handled so far: Redis commands, or etcd's handled gRPC calls and stream messages. */
    private static long requests(RedisServer redis, EtcdServer etcd) throws IOException {
        if (redis != null) {
            RedisClient client = RedisClient.create(RedisURI.create("127.0.0.1", redis.port()));
            try (StatefulRedisConnection<String, String> connection = client.connect()) {
                return connection.sync().info("stats").lines()
                    .filter(line -> line.startsWith("total_commands_processed:"))
                    .mapToLong(line -> Long.parseLong(line.substring(line.indexOf(':') + 1).trim()))
                    .sum();
            }
            finally {
                client.shutdown();
            }
        }
        if (etcd != null) {
            try (InputStream in = URI.create(etcd.member().clientUrl() + "/metrics").toURL().openStream()) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .filter(line -> line.startsWith("grpc_server_msg_received_total"))
                    .mapToLong(line -> (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
                    .sum();
            }
        }
        return 0;
    }
}
