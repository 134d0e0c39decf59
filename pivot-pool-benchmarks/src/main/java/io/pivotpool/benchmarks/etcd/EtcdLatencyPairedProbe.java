package io.pivotpool.benchmarks.etcd;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.pivotpool.etcd.EtcdCoordinator;
import io.pivotpool.etcd.EtcdCoordinatorSettings;
import io.pivotpool.testsupport.etcd.EtcdServer;

/**
 * The ratios of {@link EtcdCoordinatorLatencyBenchmark}, measured so that a shared machine's load
 * cancels out: JMH runs each method in its own trial, seconds apart, so on a machine whose load
 * swings between 2 and 16 each trial meets a different machine and the ratio of two trials
 * measures the load as much as the code. Here every round runs a block of raw calls and a block of
 * the coordinator's same operation back to back (alternating which goes first), takes each block's
 * median latency, and reports the median over the rounds of coordinator ÷ raw with its
 * interquartile range. Same operations and keys as the JMH benchmark; one thread, one fresh etcd
 * ({@link EtcdServer}).
 *
 * <pre>
 * java -cp pivot-pool-benchmarks/target/benchmarks.jar io.pivotpool.benchmarks.etcd.EtcdLatencyPairedProbe [rounds] [block]
 * </pre>
 */
public final class EtcdLatencyPairedProbe {

    private static final ByteSequence KEY = bytes("raw/k");

    private static final ByteSequence LEADER_KEY = bytes("raw/leader");

    private static final ByteSequence TERM_KEY = bytes("raw/term");

    private static final byte[] VALUE = "a value of a few dozen bytes, like a small JSON".getBytes(StandardCharsets.UTF_8);

    private static final ByteSequence RAW_VALUE = bytes("v" + new String(VALUE, StandardCharsets.UTF_8));

    /** The first term's ttl: a fresh namespace begins with a fence of this length. */
    private static final Duration LEADER_TTL = Duration.ofSeconds(5);

    /**
     * The ttl renewed while measuring, raw and coordinator alike: the other operations' blocks run
     * between two renewals, and a renewal costs the same whatever the ttl.
     */
    private static final Duration RENEWED_TTL = Duration.ofSeconds(120);

    private EtcdLatencyPairedProbe() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = (args.length > 0) ? Integer.parseInt(args[0]) : 40;
        int block = (args.length > 1) ? Integer.parseInt(args[1]) : 50;
        try (EtcdServer etcd = EtcdServer.start();
                Client client = Client.builder().endpoints(etcd.member().clientUrl()).build();
                EtcdCoordinator coordinator = EtcdCoordinator.create(EtcdCoordinatorSettings.builder()
                    .endpoints(etcd.member().clientUrl())
                    .namespace("bench")
                    .build())) {
            KV kv = client.getKVClient();
            Lease leases = client.getLeaseClient();
            await(kv.put(KEY, RAW_VALUE));
            coordinator.connect();
            coordinator.set("k", VALUE, null);
            long deadline = System.nanoTime() + LEADER_TTL.multipliedBy(3).toNanos();
            while (coordinator.tryAcquireLeadership("bench-leader", LEADER_TTL).isEmpty()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the coordinator did not become leader");
                }
                Thread.sleep(100);
            }
            // The term moves to the long lease once, keeping its token; from then on each call is a renewal.
            require(coordinator.tryAcquireLeadership("bench-leader", RENEWED_TTL).isPresent());
            long rawLease = await(leases.grant(RENEWED_TTL.toSeconds())).getID();
            await(kv.put(LEADER_KEY, bytes("{\"holder\":\"bench-leader\",\"token\":\"1\",\"ttl\":\"120000\"}"),
                    PutOption.builder().withLeaseId(rawLease).build()));
            await(kv.put(TERM_KEY, bytes("1")));
            List<Pair> pairs = List.of(
                    new Pair("get", "rawGet", () -> await(kv.get(KEY)), () -> coordinator.get("k")),
                    new Pair("set", "rawPut", () -> await(kv.put(KEY, RAW_VALUE)),
                            () -> coordinator.set("k", VALUE, null)),
                    new Pair("compare-and-set", "rawCompareAndPut", () -> await(kv.txn()
                        .If(new Cmp(KEY, Cmp.Op.EQUAL, CmpTarget.value(RAW_VALUE)))
                        .Then(Op.put(KEY, RAW_VALUE, PutOption.DEFAULT))
                        .Else(Op.get(KEY, GetOption.DEFAULT))
                        .commit()), () -> require(coordinator.compareAndSet("k", VALUE, VALUE, null))),
                    new Pair("leadership renewal", "rawReadThenKeepAlive", () -> {
                        await(kv.txn().Then(Op.get(LEADER_KEY, GetOption.DEFAULT), Op.get(TERM_KEY, GetOption.DEFAULT))
                            .commit());
                        await(leases.keepAliveOnce(rawLease));
                    }, () -> require(coordinator.tryAcquireLeadership("bench-leader", RENEWED_TTL).isPresent())),
                    new Pair("leadership renewal", "rawKeepAlive", () -> await(leases.keepAliveOnce(rawLease)),
                            () -> require(coordinator.tryAcquireLeadership("bench-leader", RENEWED_TTL).isPresent())));
            for (Pair pair : pairs) {
                for (int i = 0; i < 1000; i++) {
                    pair.raw.run();
                    pair.coordinator.run();
                }
            }
            System.out.printf(Locale.ROOT, "EtcdLatencyPairedProbe: %d rounds of %d calls each side, one thread%n",
                    rounds, block);
            System.out.println("| operation | raw call | coordinator median µs | raw median µs | coordinator ÷ raw: median of "
                    + "rounds [25th–75th percentile] |");
            System.out.println("|---|---|---:|---:|---:|");
            for (Pair pair : pairs) {
                double[] ratios = new double[rounds];
                double[] coordinatorMedians = new double[rounds];
                double[] rawMedians = new double[rounds];
                for (int round = 0; round < rounds; round++) {
                    double raw;
                    double ours;
                    if (round % 2 == 0) {
                        raw = medianMicros(pair.raw, block);
                        ours = medianMicros(pair.coordinator, block);
                    }
                    else {
                        ours = medianMicros(pair.coordinator, block);
                        raw = medianMicros(pair.raw, block);
                    }
                    ratios[round] = ours / raw;
                    coordinatorMedians[round] = ours;
                    rawMedians[round] = raw;
                }
                System.out.printf(Locale.ROOT, "| %s | `%s` | %.0f | %.0f | %.2f [%.2f–%.2f] |%n", pair.operation,
                        pair.rawName, percentile(coordinatorMedians, 0.5), percentile(rawMedians, 0.5),
                        percentile(ratios, 0.5), percentile(ratios, 0.25), percentile(ratios, 0.75));
            }
        }
    }

    private static double medianMicros(Runnable call, int count) {
        double[] micros = new double[count];
        for (int i = 0; i < count; i++) {
            long start = System.nanoTime();
            call.run();
            micros[i] = (System.nanoTime() - start) / 1e3;
        }
        return percentile(micros, 0.5);
    }

    private static double percentile(double[] values, double fraction) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        double index = fraction * (sorted.length - 1);
        int low = (int) Math.floor(index);
        int high = (int) Math.ceil(index);
        return sorted[low] + (sorted[high] - sorted[low]) * (index - low);
    }

    private static void require(boolean outcome) {
        if (!outcome) {
            throw new IllegalStateException("the coordinator's operation did not succeed: it measured another path");
        }
    }

    private static ByteSequence bytes(String text) {
        return ByteSequence.from(text, StandardCharsets.UTF_8);
    }

    private static <T> T await(CompletableFuture<T> future) {
        try {
            return future.get(5, TimeUnit.SECONDS);
        }
        catch (Exception ex) {
            throw new IllegalStateException(ex);
        }
    }

    private record Pair(String operation, String rawName, Runnable raw, Runnable coordinator) {
    }
}
