package io.pivotpool.etcd;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.PutOption;
import io.pivotpool.testsupport.etcd.EtcdServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The running sum in a pool's version key, which makes a capacity request read two keys instead
 * of every grant: it must give the grants summing every grant would, whatever happens to the key,
 * and free a departed holder's share once somebody wants it.
 */
class EtcdCapacityLedgerTests {

    private static final AtomicInteger namespaces = new AtomicInteger();

    private static final Duration LONG = Duration.ofMinutes(1);

    private static EtcdServer server;

    private static RawEtcd raw;

    private final List<EtcdCoordinator> coordinators = new ArrayList<>();

    private EtcdCoordinator coordinator;

    private EtcdKeys keys;

    @BeforeAll
    static void startServer() {
        server = EtcdServer.start();
        raw = new RawEtcd(server);
    }

    @AfterAll
    static void stopServer() {
        if (raw != null) {
            raw.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @BeforeEach
    void createCoordinator() {
        String namespace = "ledger" + namespaces.incrementAndGet();
        raw.establish(namespace);
        this.keys = new EtcdKeys(namespace);
        this.coordinator = newCoordinator(namespace);
    }

    private EtcdCoordinator newCoordinator(String namespace) {
        EtcdCoordinator created = EtcdCoordinator.create(EtcdCoordinatorSettings.builder()
            .endpoints(server.endpoints())
            .namespace(namespace)
            .timeout(Duration.ofSeconds(2))
            .build());
        created.connect();
        this.coordinators.add(created);
        return created;
    }

    @AfterEach
    void closeCoordinators() {
        this.coordinators.forEach(EtcdCoordinator::close);
    }

    @Test
    void theVersionKeyShouldHoldTheSumOfTheGrants() {
        this.coordinator.requestCapacity("p", "a", 6, 10, LONG);
        this.coordinator.requestCapacity("p", "b", 3, 10, LONG);
        this.coordinator.requestCapacity("p", "a", 2, 10, LONG);
        assertThat(sum("p")).isEqualTo(5);
        this.coordinator.releaseCapacity("p", "b");
        assertThat(sum("p")).isEqualTo(2);
    }

    @Test
    void aMissingOrForgedVersionKeyShouldBeReconciledFromTheGrantsNotBelieved() {
        this.coordinator.requestCapacity("p", "a", 6, 10, LONG);
        for (String forged : List.of("", "0", "0:x", "-4:0", "1e3:0", "0:99999999999999", "garbage")) {
            if (forged.isEmpty()) {
                RawEtcd.await(raw.client().getKVClient().delete(RawEtcd.bytes(this.keys.poolVersion("p"))));
            }
            else {
                put(this.keys.poolVersion("p"), forged);
            }
            int granted = this.coordinator.requestCapacity("p", "b", 10, 10, LONG).granted();
            assertThat(granted).as("with the version key '%s'", forged).isEqualTo(4);
            assertThat(sum("p")).isEqualTo(10);
        }
    }

    @Test
    void aDepartedHoldersShareShouldBeFreedOnceSomebodyWantsIt() throws Exception {
        EtcdCoordinator leaving = newCoordinator(namespaceOf());
        Duration ttl = Duration.ofSeconds(2);
        leaving.requestCapacity("p", "gone", 8, 10, ttl);
        assertThat(this.coordinator.requestCapacity("p", "b", 10, 10, LONG).granted()).isEqualTo(2);
        // The departed holder's lease ends; the sum still counts it until a reconciliation.
        leaving.close();
        long deadline = System.nanoTime() + Duration.ofSeconds(8).toNanos();
        int granted = 0;
        while (granted < 10 && System.nanoTime() - deadline < 0) {
            Thread.sleep(100);
            granted = this.coordinator.requestCapacity("p", "b", 10, 10, LONG).granted();
        }
        assertThat(granted).as("b's grant once the departed share is reconciled away").isEqualTo(10);
        assertThat(this.coordinator.capacity("p").grants()).isEqualTo(Map.of("b", 10));
    }

    @Test
    void concurrentChangesShouldKeepTheSumExact() throws Exception {
        EtcdCoordinator other = newCoordinator(namespaceOf());
        List<Thread> threads = new ArrayList<>();
        for (EtcdCoordinator through : List.of(this.coordinator, other)) {
            String id = (through == other) ? "other" : "mine";
            Thread thread = new Thread(() -> {
                for (int i = 0; i < 30; i++) {
                    through.requestCapacity("p", id, 1 + i % 5, 10, LONG);
                }
            });
            thread.start();
            threads.add(thread);
        }
        for (Thread thread : threads) {
            thread.join();
        }
        long total = this.coordinator.capacity("p").total();
        assertThat(total).isLessThanOrEqualTo(10);
        assertThat(sum("p")).as("the running sum after concurrent changes").isEqualTo(total);
    }

    private String namespaceOf() {
        return "ledger" + namespaces.get();
    }

    private long sum(String pool) {
        List<KeyValue> kvs = RawEtcd.await(raw.client().getKVClient().get(RawEtcd.bytes(this.keys.poolVersion(pool))))
            .getKvs();
        String value = kvs.get(0).getValue().toString(StandardCharsets.UTF_8);
        return Long.parseLong(value.substring(0, value.indexOf(':')));
    }

    private void put(String key, String value) {
        RawEtcd.await(raw.client().getKVClient().put(RawEtcd.bytes(key), RawEtcd.bytes(value), PutOption.DEFAULT));
    }
}
