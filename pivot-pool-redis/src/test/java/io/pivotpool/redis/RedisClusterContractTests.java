package io.pivotpool.redis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.testsupport.contract.MultiInstanceCoordinatorContract;
import io.pivotpool.testsupport.ServerProcesses;
import io.pivotpool.testsupport.redis.RedisNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import org.springframework.data.redis.connection.RedisClusterConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceClientConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

import static io.pivotpool.redis.RedisCoordinatorTests.bytes;
import static io.pivotpool.redis.RedisCoordinatorTests.instance;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The coordinator contract on a Redis Cluster of three masters ({@code cluster-enabled yes} on three
 * ports, joined by {@code redis-cli --cluster create}), through Lettuce's cluster client: the
 * connection factory an application builds from {@code spring.data.redis.cluster.nodes}, shared by
 * every coordinator. Every key of a namespace carries the hash tag {@code {namespace}}, so each
 * script's keys are in one slot, on one node.
 */
@Tag("slow")
class RedisClusterContractTests extends MultiInstanceCoordinatorContract {

    /** Entries expire to the millisecond here: half a second proves expiry as well as a second. */
    @Override
    protected Duration shortTtl() {
        return Duration.ofMillis(500);
    }

    private static final List<RedisNode> nodes = new ArrayList<>();

    private static LettuceConnectionFactory factory;

    private static RedisClusterClient admin;

    private static StatefulRedisClusterConnection<String, String> adminConnection;

    @BeforeAll
    static void startCluster() throws Exception {
        for (int i = 1; i <= 3; i++) {
            nodes.add(RedisNode.start("cluster-node-" + i, """
                    port ${port}
                    cluster-enabled yes
                    cluster-config-file nodes.conf
                    cluster-node-timeout 2000
                    """));
        }
        String cli = RedisNode.cli();
        if (cli == null) {
            throw ServerProcesses.unavailable("the Cluster test joins its nodes with redis-cli --cluster create, and "
                    + "there is no redis-cli next to " + RedisNode.binary() + " nor on the PATH: install Debian's "
                    + "redis-tools (apt-get install -y redis-server brings it)");
        }
        List<String> command = new ArrayList<>(List.of(cli, "--cluster", "create"));
        nodes.forEach(node -> command.add(node.host() + ":" + node.port()));
        command.addAll(List.of("--cluster-replicas", "0", "--cluster-yes"));
        Process create = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(create.getInputStream().readAllBytes());
        if (!create.waitFor(30, TimeUnit.SECONDS) || create.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed:\n" + output);
        }
        awaitClusterOk();
        List<String> addresses = nodes.stream().map(node -> node.host() + ":" + node.port()).toList();
        factory = new LettuceConnectionFactory(new RedisClusterConfiguration(addresses),
                LettuceClientConfiguration.builder().commandTimeout(Duration.ofSeconds(2)).build());
        factory.afterPropertiesSet();
        factory.start();
        admin = RedisClusterClient.create(addresses.stream()
            .map(address -> RedisURI.create("redis://" + address))
            .toList());
        adminConnection = admin.connect();
    }

    @AfterAll
    static void stopCluster() {
        if (adminConnection != null) {
            adminConnection.close();
            admin.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
        if (factory != null) {
            factory.destroy();
        }
        nodes.forEach(RedisNode::close);
        nodes.clear();
    }

    @Override
    protected Coordinator createCoordinator(String namespace) {
        RawRedis.establish(adminConnection.sync(), namespace);
        return RedisCoordinator.create(factory, namespace, Duration.ofSeconds(2));
    }

    @Test
    void everyKeyOfANamespaceIsInOneSlotOnOneNode() {
        Coordinator coordinator = coordinator();
        coordinator.register(instance("a"), LONG_TTL);
        coordinator.tryAcquireLeadership("a", LONG_TTL);
        coordinator.push("q", bytes("m"));
        coordinator.set("k", bytes("v"), null);
        coordinator.requestCapacity("pool", "a", 1, 5, LONG_TTL);
        String tag = "{" + namespace() + "}:";
        int slot = SlotHash.getSlot(tag + "leader");
        int nodesWithKeys = 0;
        List<String> found = new ArrayList<>();
        for (RedisNode node : nodes) {
            try (RedisClient client = RedisClient.create(RedisURI.create(node.host(), node.port()));
                    StatefulRedisConnection<String, String> connection = client.connect()) {
                List<String> keys = connection.sync().keys(tag + "*");
                if (!keys.isEmpty()) {
                    nodesWithKeys++;
                    found.addAll(keys);
                }
            }
        }
        assertThat(nodesWithKeys).isEqualTo(1);
        assertThat(found).hasSizeGreaterThanOrEqualTo(7)
            .allSatisfy(key -> assertThat(SlotHash.getSlot(key)).isEqualTo(slot));
        System.out.println("Cluster: " + found.size() + " keys of " + namespace() + " all in slot " + slot + ": " + found);
    }

    private static void awaitClusterOk() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (RedisNode node : nodes) {
            try (RedisClient client = RedisClient.create(RedisURI.create(node.host(), node.port()));
                    StatefulRedisConnection<String, String> connection = client.connect()) {
                while (!connection.sync().clusterInfo().contains("cluster_state:ok")) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException(node + " never reported cluster_state:ok: " + node.log());
                    }
                    Thread.sleep(50);
                }
            }
        }
    }
}
