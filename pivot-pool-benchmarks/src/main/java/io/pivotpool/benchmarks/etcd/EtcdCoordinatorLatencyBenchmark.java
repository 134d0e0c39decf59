package io.pivotpool.benchmarks.etcd;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.PutResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.etcd.EtcdCoordinator;
import io.pivotpool.etcd.EtcdCoordinatorSettings;
import io.pivotpool.testsupport.etcd.EtcdServer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the etcd coordinator costs per operation, next to the same round trips made with jetcd
 * directly on the same server: {@code raw*} are plain jetcd calls, {@code coordinator*} the
 * coordinator's operations. The target is at most 1.3 times the raw latency of the same work.
 *
 * <p>Pairs: get ↔ {@code rawGet} (one range read); set ↔ {@code rawPut} (one put, no TTL);
 * compare-and-set ↔ {@code rawCompareAndPut} (one transaction comparing the stored bytes, put on
 * success, get otherwise); leadership renewal ↔ {@code rawReadThenKeepAlive}. A renewal must
 * check that the leader key still names this instance before it renews the lease under it (a
 * lease can outlive a lost term), so the coordinator makes two round trips: one transaction
 * reading the leader and term keys, then {@code keepAliveOnce}; the raw pair does the same two.
 * {@code rawKeepAlive} (the lease alone) is there to show what the read costs.
 *
 * <p>The server is {@code -Dpivot.bench.etcd=http://host:port} if given, otherwise a throw-away
 * {@code etcd} ({@link EtcdServer}).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Threads(1)
public class EtcdCoordinatorLatencyBenchmark {

    private static final ByteSequence KEY = bytes("raw/k");

    private static final ByteSequence LEADER_KEY = bytes("raw/leader");

    private static final ByteSequence TERM_KEY = bytes("raw/term");

    private static final byte[] VALUE = "a value of a few dozen bytes, like a small JSON".getBytes(StandardCharsets.UTF_8);

    /** The coordinator stores a one-byte tag in front of a value: the raw calls store as many bytes. */
    private static final ByteSequence RAW_VALUE = bytes("v" + new String(VALUE, StandardCharsets.UTF_8));

    /** Long enough that the gaps between iterations never let the leader lease lapse. */
    private static final Duration LEADER_TTL = Duration.ofSeconds(5);

    @Benchmark
    public GetResponse rawGet(Etcd etcd) {
        return await(etcd.kv.get(KEY));
    }

    @Benchmark
    public PutResponse rawPut(Etcd etcd) {
        return await(etcd.kv.put(KEY, RAW_VALUE));
    }

    @Benchmark
    public TxnResponse rawCompareAndPut(Etcd etcd) {
        return await(etcd.kv.txn()
            .If(new Cmp(KEY, Cmp.Op.EQUAL, CmpTarget.value(RAW_VALUE)))
            .Then(Op.put(KEY, RAW_VALUE, PutOption.DEFAULT))
            .Else(Op.get(KEY, GetOption.DEFAULT))
            .commit());
    }

    @Benchmark
    public LeaseKeepAliveResponse rawKeepAlive(Etcd etcd) {
        return await(etcd.leases.keepAliveOnce(etcd.rawLease));
    }

    /** What a leader's renewal has to do at least: read its record (and the term), then renew the lease. */
    @Benchmark
    public LeaseKeepAliveResponse rawReadThenKeepAlive(Etcd etcd) {
        TxnResponse read = await(etcd.kv.txn()
            .Then(Op.get(LEADER_KEY, GetOption.DEFAULT), Op.get(TERM_KEY, GetOption.DEFAULT))
            .commit());
        if (read.getGetResponses().get(0).getKvs().isEmpty()) {
            throw new IllegalStateException("the raw leader key is gone");
        }
        return await(etcd.leases.keepAliveOnce(etcd.rawLease));
    }

    @Benchmark
    public Optional<byte[]> coordinatorGet(Etcd etcd) {
        return etcd.coordinator.get("k");
    }

    @Benchmark
    public void coordinatorSet(Etcd etcd) {
        etcd.coordinator.set("k", VALUE, null);
    }

    @Benchmark
    public boolean coordinatorCompareAndSet(Etcd etcd) {
        return etcd.coordinator.compareAndSet("k", VALUE, VALUE, null);
    }

    @Benchmark
    public Optional<LeaderLease> coordinatorRenewLeadership(Leading leading) {
        Optional<LeaderLease> lease = leading.etcd.coordinator.tryAcquireLeadership("bench-leader", LEADER_TTL);
        if (lease.isEmpty()) {
            leading.lost++;
        }
        return lease;
    }

    @State(Scope.Benchmark)
    public static class Etcd {

        EtcdServer server;

        Client client;

        KV kv;

        Lease leases;

        long rawLease;

        EtcdCoordinator coordinator;

        @Setup(Level.Trial)
        public void start() {
            String endpoint = System.getProperty("pivot.bench.etcd");
            if (endpoint == null || endpoint.isBlank()) {
                this.server = EtcdServer.start();
                endpoint = this.server.member().clientUrl();
            }
            this.client = Client.builder().endpoints(endpoint).build();
            this.kv = this.client.getKVClient();
            this.leases = this.client.getLeaseClient();
            await(this.kv.put(KEY, RAW_VALUE));
            this.rawLease = await(this.leases.grant(LEADER_TTL.toSeconds())).getID();
            await(this.kv.put(LEADER_KEY, bytes("{\"holder\":\"bench-leader\",\"token\":\"1\",\"ttl\":\"5000\"}"),
                    PutOption.builder().withLeaseId(this.rawLease).build()));
            await(this.kv.put(TERM_KEY, bytes("1")));
            this.coordinator = EtcdCoordinator.create(EtcdCoordinatorSettings.builder()
                .endpoints(endpoint)
                .namespace("bench")
                .build());
            this.coordinator.connect();
            this.coordinator.set("k", VALUE, null);
        }

        @TearDown(Level.Trial)
        public void stop() {
            this.coordinator.close();
            this.client.close();
            if (this.server != null) {
                this.server.close();
            }
        }
    }

    /** The coordinator leads: the first term of a fresh namespace begins once the first-start fence lapses. */
    @State(Scope.Benchmark)
    public static class Leading {

        Etcd etcd;

        long lost;

        @Setup(Level.Trial)
        public void lead(Etcd etcd) {
            this.etcd = etcd;
            long deadline = System.nanoTime() + LEADER_TTL.multipliedBy(3).toNanos();
            while (etcd.coordinator.tryAcquireLeadership("bench-leader", LEADER_TTL).isEmpty()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the coordinator did not become leader within "
                            + LEADER_TTL.multipliedBy(3).toSeconds() + " s");
                }
                try {
                    Thread.sleep(100);
                }
                catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(ex);
                }
            }
        }

        /** A renewal that found no term to renew measured something else: the trial fails. */
        @TearDown(Level.Trial)
        public void check() {
            if (this.lost > 0) {
                throw new IllegalStateException(this.lost + " renewals found the coordinator not leading");
            }
        }
    }

    private static ByteSequence bytes(String text) {
        return ByteSequence.from(text, StandardCharsets.UTF_8);
    }

    private static <T> T await(java.util.concurrent.CompletableFuture<T> future) {
        try {
            return future.get(5, TimeUnit.SECONDS);
        }
        catch (ExecutionException | TimeoutException ex) {
            throw new IllegalStateException(ex);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }
}
