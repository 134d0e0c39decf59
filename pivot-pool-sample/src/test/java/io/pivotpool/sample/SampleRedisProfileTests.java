package io.pivotpool.sample;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.testsupport.redis.RedisServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/** The 'redis' profile as documented: two sample instances on one Redis see each other at /actuator/pools. */
class SampleRedisProfileTests {

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final List<ConfigurableApplicationContext> instances = new ArrayList<>();

    private RedisServer redis;

    @BeforeEach
    void startRedis() {
        this.redis = RedisServer.start("sample-" + System.nanoTime());
    }

    @AfterEach
    void stopAll() {
        this.instances.forEach(ConfigurableApplicationContext::close);
        this.redis.close();
    }

    @Test
    void twoInstancesOnOneRedisShouldShowEachOtherAtActuatorPools() throws Exception {
        ConfigurableApplicationContext first = start();
        ConfigurableApplicationContext second = start();
        String firstId = first.getBean(DistributedPoolManager.class).instanceId();
        String secondId = second.getBean(DistributedPoolManager.class).instanceId();

        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        String firstView = pools(first);
        String secondView = pools(second);
        while (!(firstView.contains(secondId) && secondView.contains(firstId)) && System.nanoTime() < deadline) {
            Thread.sleep(100);
            firstView = pools(first);
            secondView = pools(second);
        }
        for (String view : List.of(firstView, secondView)) {
            assertThat(view).contains("\"activeBackend\":\"redis\"")
                .contains("\"connected\":true")
                .contains(firstId)
                .contains(secondId)
                .doesNotContain(this.redis.password());
        }
        // A brand-new namespace is fenced for one leader-ttl (1 s here) before its first term.
        List<ConfigurableApplicationContext> both = List.of(first, second);
        long leaderDeadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (leaders(both) == 0 && System.nanoTime() < leaderDeadline) {
            Thread.sleep(20);
        }
        for (int i = 0; i < 20; i++) {
            assertThat(leaders(both)).as("instances leading at once").isEqualTo(1);
            Thread.sleep(20);
        }
        assertThat(get(first, "/quotes/ABC-1").statusCode()).isEqualTo(200);
    }

    private static long leaders(List<ConfigurableApplicationContext> contexts) {
        return contexts.stream().filter((ctx) -> ctx.getBean(DistributedPoolManager.class).isLeader()).count();
    }

    private ConfigurableApplicationContext start() {
        ConfigurableApplicationContext context = new SpringApplicationBuilder(SampleApplication.class)
            .profiles("redis")
            // As command-line arguments: they outrank application-redis.yml, as they would for a user.
            .run("--server.port=0", "--distributed.redis.host=" + this.redis.host(),
                    "--distributed.redis.port=" + this.redis.port(),
                    "--distributed.redis.password=" + this.redis.password(), "--distributed.sync-interval=200ms",
                    "--distributed.leader-ttl=1s",
                    "--spring.jmx.enabled=false");
        this.instances.add(context);
        return context;
    }

    private String pools(ConfigurableApplicationContext context) throws Exception {
        HttpResponse<String> response = get(context, "/actuator/pools");
        assertThat(response.statusCode()).isEqualTo(200);
        return response.body();
    }

    private HttpResponse<String> get(ConfigurableApplicationContext context, String path) throws Exception {
        int port = ((WebServerApplicationContext) context).getWebServer().getPort();
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(5))
            .build();
        return this.http.send(request, HttpResponse.BodyHandlers.ofString());
    }
}
