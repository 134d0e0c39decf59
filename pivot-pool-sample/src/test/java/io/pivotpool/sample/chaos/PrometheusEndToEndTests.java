package io.pivotpool.sample.chaos;

import java.io.File;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import io.pivotpool.sample.partner.PartnerSimulator;
import io.pivotpool.testsupport.ServerProcesses;
import io.pivotpool.testsupport.redis.RedisServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Issue 19, the operator's side end to end: a real Prometheus server scrapes two sample
 * applications that share one capped pool through a real {@code redis-server}, with the rules
 * shipped in {@code docs/prometheus} loaded as an operator would load them. Both instances are
 * busier than the cap allows, so the cluster-wide queries have known answers: Σ grants equals G
 * (no more, however much is asked), Σ in use stays within G and is above 0, one instance leads,
 * every rule evaluates without error, the "cap used up with unmet demand" alert is pending and
 * the "no leader" alert is not. The {@code prometheus} binary comes with Debian's
 * {@code prometheus} package: CI installs it and fails without it, elsewhere this is skipped with
 * a warning.
 */
@Tag("slow")
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class PrometheusEndToEndTests {

    private static final String POOL = "partner-clients";

    private static final int MAX_SIZE = 4;

    /** G: less than the two instances' max-size together, so that only the cap bounds them. */
    private static final int GLOBAL_MAX_SIZE = 6;

    /** Clients per instance: more than max-size, so that each asks for more than it is granted. */
    private static final int CLIENTS = MAX_SIZE + 3;

    private static final Path RULES = Path.of("..", "docs", "prometheus", "pivot-pool-rules.yml").toAbsolutePath()
        .normalize();

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final HttpClient http = HttpClient.newHttpClient();

    private final List<SampleInstance> instances = new ArrayList<>();

    private RedisServer redis;

    private PartnerSimulator partner;

    private LoadDriver load;

    private Process prometheus;

    private URI prometheusUri;

    private Path directory;

    @AfterEach
    void stopEverything() throws Exception {
        if (this.load != null) {
            this.load.close();
        }
        if (this.prometheus != null) {
            ServerProcesses.stop(this.prometheus);
        }
        this.instances.forEach(SampleInstance::close);
        if (this.partner != null) {
            this.partner.close();
        }
        if (this.redis != null) {
            this.redis.close();
        }
        if (this.directory != null) {
            ServerProcesses.deleteDirectory(this.directory.resolve("data"));
        }
    }

    @Test
    void prometheusSeesTheClusterWideCapTheInstancesShareAndTheShippedRulesWork() throws Exception {
        String binary = ServerProcesses.onPath("prometheus");
        if (binary == null) {
            throw ServerProcesses.unavailable("prometheus is not on the PATH: the end-to-end scrape of the sample is "
                    + "tested with it, and .ci/run installs it (Debian/Ubuntu: apt-get install -y prometheus)");
        }
        this.directory = Files.createDirectories(Path.of("target", "prometheus-e2e"));
        // A run killed before its clean-up leaves series that a new server would read back.
        ServerProcesses.deleteDirectory(this.directory.resolve("data"));
        this.redis = RedisServer.start("prometheus-e2e-" + System.nanoTime());
        this.partner = PartnerSimulator.start(0, "sample-app", "demo-secret-for-the-simulated-partner",
                2 * MAX_SIZE + 2, Duration.ofMillis(200));
        long start = System.nanoTime();
        this.load = new LoadDriver(CLIENTS, Duration.ofSeconds(5), start);
        for (String name : List.of("A", "B")) {
            SampleInstance instance = SampleInstance.start(name, arguments(), this.directory, this.http,
                    "/actuator/prometheus", Duration.ofSeconds(120));
            this.instances.add(instance);
            this.load.add(instance);
        }
        startPrometheus(binary);
        this.instances.forEach((instance) -> this.load.level(instance, CLIENTS));

        // Both targets scraped and up.
        awaitQuery("up{job=\"pivot-pool-sample\"} == 1", (result) -> result.size() == 2);
        // The cap's answer over the cluster: both ask for more than their share, so Σ grants is exactly G.
        awaitQuery("pivot_pool:grant:sum{pool=\"" + POOL + "\"}",
                (result) -> result.size() == 1 && value(result.get(0)) == GLOBAL_MAX_SIZE);
        awaitQuery("pivot_pool:global_max_size:max{pool=\"" + POOL + "\"}",
                (result) -> result.size() == 1 && value(result.get(0)) == GLOBAL_MAX_SIZE);
        awaitQuery("pivot_pool:demand:sum{pool=\"" + POOL + "\"} > pivot_pool:grant:sum{pool=\"" + POOL + "\"}",
                (result) -> result.size() == 1);
        awaitQuery("pivot_coordinator:leaders:sum", (result) -> result.size() == 1 && value(result.get(0)) == 1);
        // Objects in use over the cluster: busy, and within G. The two targets are scraped at
        // different instants, so one evaluation can straddle a hand-over between them (the chaos
        // test proves Σ ≤ G with its own timing); the median over 30 s of scrapes cannot.
        awaitQuery("max_over_time(pivot_pool:active:sum{pool=\"" + POOL + "\"}[20s])",
                (result) -> result.size() == 1 && value(result.get(0)) > 0);
        sleepSeconds(5);
        JsonNode inUse = query("quantile_over_time(0.5, pivot_pool:active:sum{pool=\"" + POOL + "\"}[30s])");
        assertThat(inUse).hasSize(1);
        assertThat(value(inUse.get(0))).as("Σ in use, median over the last 30 s of scrapes")
            .isGreaterThan(0)
            .isLessThanOrEqualTo(GLOBAL_MAX_SIZE);
        // Every shipped rule evaluates against real series without an error.
        JsonNode groups = get("/api/v1/rules").path("data").path("groups");
        assertThat(groups.size()).as("rule groups loaded").isGreaterThanOrEqualTo(2);
        for (JsonNode group : groups) {
            for (JsonNode rule : group.path("rules")) {
                assertThat(rule.path("health").asString()).as("health of %s: %s", rule.path("name").asString(),
                        rule.path("lastError").asString()).isEqualTo("ok");
            }
        }
        // Every query of the shipped Grafana dashboard runs against the real series, as Grafana
        // sends it with every application and pool selected; the cap's panels show the pool.
        JsonNode dashboard = JsonMapper.shared().readTree(Path.of("..", "docs", "grafana", "pivot-pool-dashboard.json").toFile());
        int queries = 0;
        for (JsonNode panel : dashboard.path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                String promql = target.path("expr").asString().replace("$job", ".+").replace("$pool", ".+")
                    .replace("$__rate_interval", "1m");
                JsonNode result = query(promql);
                queries++;
                if (panel.path("id").asInt() <= 2) {
                    List<String> pools = new ArrayList<>();
                    result.forEach((series) -> pools.add(series.path("metric").path("pool").asString()));
                    assertThat(pools).as("%s: %s", panel.path("title").asString(), promql).contains(POOL);
                }
            }
        }
        assertThat(queries).as("dashboard queries").isGreaterThan(10);
        // The cap used up with unmet demand: pending (its `for` is 5 minutes); nobody without a leader.
        awaitAlerts((alerts) -> alerts.contains("PivotPoolCapExhausted"));
        assertThat(activeAlerts()).doesNotContain("PivotPoolNoLeader", "PivotPoolCoordinatorDisconnected",
                "PivotPoolFallbackToNoOp", "PivotPoolPartitioned");
    }

    private List<String> arguments() {
        List<String> arguments = new ArrayList<>(List.of("--spring.profiles.active=redis",
                "--spring.jmx.enabled=false", "--spring.main.banner-mode=off", "--distributed.fail-fast=true",
                "--distributed.sync-interval=200ms", "--distributed.leader-ttl=1s", "--distributed.instance-ttl=600ms",
                "--distributed.rebalance-interval=1s", "--partner.url=" + this.partner.baseUri(),
                "--pivot.pool.pools." + POOL + ".max-size=" + MAX_SIZE,
                "--pivot.pool.pools." + POOL + ".global-max-size=" + GLOBAL_MAX_SIZE,
                "--pivot.pool.pools." + POOL + ".borrow-timeout=1s",
                "--management.endpoints.web.exposure.include=health,pools,metrics,prometheus",
                "--distributed.redis.host=" + this.redis.host(), "--distributed.redis.port=" + this.redis.port(),
                "--distributed.redis.password=" + this.redis.password()));
        return arguments;
    }

    private void startPrometheus(String binary) throws Exception {
        int port = ServerProcesses.freePort();
        StringBuilder targets = new StringBuilder();
        for (SampleInstance instance : this.instances) {
            targets.append((targets.length() > 0) ? ", " : "").append('"').append(instance.uri("/").getHost())
                .append(':').append(instance.uri("/").getPort()).append('"');
        }
        Path config = this.directory.resolve("prometheus.yml");
        Files.writeString(config, """
                global:
                  scrape_interval: 1s
                  evaluation_interval: 1s
                rule_files:
                  - "%s"
                scrape_configs:
                  - job_name: pivot-pool-sample
                    metrics_path: /actuator/prometheus
                    static_configs:
                      - targets: [%s]
                """.formatted(RULES, targets));
        File log = this.directory.resolve("prometheus.log").toFile();
        Process process = new ProcessBuilder(binary, "--config.file=" + config.toAbsolutePath(),
                "--storage.tsdb.path=" + this.directory.resolve("data").toAbsolutePath(),
                "--web.listen-address=" + ServerProcesses.HOST + ":" + port)
            .redirectErrorStream(true)
            .redirectOutput(log)
            .start();
        // Stopped by stopEverything() even if it never becomes ready.
        this.prometheus = process;
        this.prometheusUri = URI.create("http://" + ServerProcesses.HOST + ":" + port);
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                fail("prometheus exited with " + process.exitValue() + ":\n" + ServerProcesses.tail(log, 30));
            }
            try {
                if (this.http.send(HttpRequest.newBuilder(this.prometheusUri.resolve("/-/ready"))
                    .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            }
            catch (java.io.IOException ex) {
                // Not listening yet.
            }
            sleepSeconds(0.2);
        }
        throw new IllegalStateException("prometheus was not ready within " + TIMEOUT.toSeconds() + " s:\n"
                + ServerProcesses.tail(log, 30));
    }

    /** The result vector of an instant query, as soon as it satisfies {@code done}; fails after {@link #TIMEOUT}. */
    private JsonNode awaitQuery(String promql, Predicate<JsonNode> done) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        JsonNode result = null;
        while (System.nanoTime() < deadline) {
            result = query(promql);
            if (done.test(result)) {
                return result;
            }
            sleepSeconds(0.5);
        }
        throw new AssertionError("Prometheus did not answer as expected within " + TIMEOUT.toSeconds() + " s: "
                + promql + " gave " + result + "; instances: " + pools());
    }

    private JsonNode query(String promql) throws Exception {
        JsonNode answer = get("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8));
        assertThat(answer.path("status").asString()).as("%s: %s", promql, answer).isEqualTo("success");
        return answer.path("data").path("result");
    }

    private void awaitAlerts(Predicate<List<String>> done) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        List<String> alerts = List.of();
        while (System.nanoTime() < deadline) {
            alerts = activeAlerts();
            if (done.test(alerts)) {
                return;
            }
            sleepSeconds(0.5);
        }
        throw new AssertionError("alerts pending or firing after " + TIMEOUT.toSeconds() + " s: " + alerts
                + "; instances: " + pools());
    }

    /** The names of the alerts pending or firing now. */
    private List<String> activeAlerts() throws Exception {
        List<String> names = new ArrayList<>();
        for (JsonNode alert : get("/api/v1/alerts").path("data").path("alerts")) {
            names.add(alert.path("labels").path("alertname").asString());
        }
        return names;
    }

    private JsonNode get(String path) throws Exception {
        HttpResponse<String> response = this.http.send(HttpRequest.newBuilder(URI.create(this.prometheusUri + path))
            .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as("GET %s: %s", path, response.body()).isEqualTo(200);
        return JsonMapper.shared().readTree(response.body());
    }

    /** What each instance says of the pool, for a failure's message. */
    private String pools() {
        StringBuilder text = new StringBuilder();
        for (SampleInstance instance : this.instances) {
            try {
                text.append(instance.name()).append(": ").append(this.http.send(HttpRequest
                    .newBuilder(instance.uri("/actuator/pools/" + POOL)).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.ofString()).body()).append("; ");
            }
            catch (Exception ex) {
                text.append(instance.name()).append(": ").append(ex).append("; ");
            }
        }
        return text.toString();
    }

    private static double value(JsonNode sample) {
        return Double.parseDouble(sample.path("value").get(1).asString());
    }

    private static void sleepSeconds(double seconds) {
        SampleInstance.sleep((long) (seconds * 1000));
    }
}
