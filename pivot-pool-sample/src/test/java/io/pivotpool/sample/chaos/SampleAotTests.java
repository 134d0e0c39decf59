package io.pivotpool.sample.chaos;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.pivotpool.testsupport.etcd.EtcdServer;
import io.pivotpool.testsupport.redis.RedisServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 19: the starter under Spring AOT. The build runs {@code spring-boot:process-aot} on the
 * sample (its pom binds it before the tests), which turns the application context into generated
 * code; these tests start the sample on that code ({@code -Dspring.aot.enabled=true}, on the JVM:
 * there is no GraalVM here to build a native image) and check that the pool, the endpoint, the
 * health indicator and coordination work: on its default (the no-op coordinator), and with the
 * Redis and the etcd backends selected by properties at run time against a real
 * {@code redis-server} and {@code etcd}: connected, registered, leading with a fencing token.
 */
@Tag("slow")
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class SampleAotTests {

    private static final List<String> AOT = List.of("-Dspring.aot.enabled=true");

    private static final Path LOGS = Path.of("target", "aot");

    private final HttpClient http = HttpClient.newHttpClient();

    private final List<SampleInstance> instances = new ArrayList<>();

    private RedisServer redis;

    private EtcdServer etcd;

    @AfterEach
    void stop() {
        this.instances.forEach(SampleInstance::close);
        if (this.redis != null) {
            this.redis.close();
        }
        if (this.etcd != null) {
            this.etcd.close();
        }
    }

    @Test
    void theSampleRunsOnItsGeneratedContextWithTheNoOpCoordinator() throws Exception {
        SampleInstance sample = start("default", List.of());
        assertThat(sample.logTail(400)).contains("AOT-processed");
        assertThat(status(sample, "/quotes/ABC-1")).isEqualTo(200);
        JsonNode pools = json(sample, "/actuator/pools");
        assertThat(pools.path("pools").path("partner-clients").path("maxSize").asInt()).isPositive();
        assertThat(pools.path("coordinator").path("activeBackend").asString()).isEqualTo("noop");
        assertThat(json(sample, "/actuator/health").path("status").asString()).isEqualTo("UP");
    }

    @Test
    void anInstanceCoordinatesThroughRedisOnTheGeneratedContext() throws Exception {
        this.redis = RedisServer.start("aot-" + System.nanoTime());
        assertCoordinates("redis", List.of("--spring.profiles.active=redis", "--distributed.leader-ttl=1s",
                "--distributed.redis.host=" + this.redis.host(), "--distributed.redis.port=" + this.redis.port(),
                "--distributed.redis.password=" + this.redis.password()));
    }

    @Test
    void anInstanceCoordinatesThroughEtcdOnTheGeneratedContext() throws Exception {
        this.etcd = EtcdServer.start();
        assertCoordinates("etcd", List.of("--spring.profiles.active=etcd",
                "--distributed.etcd.endpoints=" + this.etcd.member().clientUrl(), "--distributed.leader-ttl=2s",
                "--distributed.instance-ttl=2s"));
    }

    /**
     * An AOT-run instance on {@code backend}: connected, registered and leading (alone), with its
     * pool serving. Two instances electing one leader on each backend are the chaos test's subject.
     */
    private void assertCoordinates(String backend, List<String> backendArguments) throws Exception {
        List<String> arguments = new ArrayList<>(List.of("--distributed.fail-fast=true",
                "--distributed.sync-interval=200ms"));
        arguments.addAll(backendArguments);
        SampleInstance instance = start(backend, arguments);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        JsonNode view = null;
        while (System.nanoTime() < deadline) {
            view = json(instance, "/actuator/pools").path("coordinator");
            if (view.path("memberCount").asInt() == 1 && view.path("isLeader").asBoolean()) {
                break;
            }
            SampleInstance.sleep(200);
        }
        assertThat(instance.logTail(400)).contains("AOT-processed");
        assertThat(view.path("activeBackend").asString()).isEqualTo(backend);
        assertThat(view.path("connected").asBoolean()).as("connected: %s", view).isTrue();
        assertThat(view.path("memberCount").asInt()).as("members: %s", view).isEqualTo(1);
        assertThat(view.path("isLeader").asBoolean()).as("leads: %s", view).isTrue();
        assertThat(view.path("fencingToken").asLong()).as("its term: %s", view).isPositive();
        assertThat(status(instance, "/quotes/ABC-1")).isEqualTo(200);
    }

    private SampleInstance start(String name, List<String> arguments) {
        List<String> all = new ArrayList<>(List.of("--spring.jmx.enabled=false", "--spring.main.banner-mode=off"));
        all.addAll(arguments);
        SampleInstance instance = SampleInstance.start(name, AOT, all, LOGS, this.http, "/actuator/health",
                Duration.ofSeconds(120));
        this.instances.add(instance);
        return instance;
    }

    private int status(SampleInstance instance, String path) throws Exception {
        return this.http.send(HttpRequest.newBuilder(instance.uri(path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private JsonNode json(SampleInstance instance, String path) throws Exception {
        HttpResponse<String> response = this.http.send(HttpRequest.newBuilder(instance.uri(path))
            .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as("GET %s: %s", path, response.body()).isEqualTo(200);
        return JsonMapper.shared().readTree(response.body());
    }
}
