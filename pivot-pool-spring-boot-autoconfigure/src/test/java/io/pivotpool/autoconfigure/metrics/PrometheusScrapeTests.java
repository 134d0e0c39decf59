package io.pivotpool.autoconfigure.metrics;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pivotpool.autoconfigure.PivotPoolAutoConfiguration;
import io.pivotpool.autoconfigure.TestPools.Renderer;
import io.pivotpool.autoconfigure.TestPools.RendererSpec;
import io.pivotpool.pool.Lease;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolStats;
import io.pivotpool.pool.WaitTimeStats;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.prometheus.PrometheusMetricsExportAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.BDDMockito.given;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;

/**
 * The meters as Prometheus users read them: the scrape text of Boot's Prometheus registry, not the
 * meter registry's view.
 */
class PrometheusScrapeTests {

    private static final Pattern TYPE_LINE = Pattern.compile("^# TYPE (pivot_\\S+) (\\S+)$", Pattern.MULTILINE);

    /** Every family and its type, in the Prometheus text format. */
    static final Map<String, String> FAMILIES = new TreeMap<>(Map.ofEntries(
            Map.entry("pivot_pool_active", "gauge"), Map.entry("pivot_pool_idle", "gauge"),
            Map.entry("pivot_pool_waiting", "gauge"), Map.entry("pivot_pool_size", "gauge"),
            Map.entry("pivot_pool_max_size", "gauge"), Map.entry("pivot_pool_created_objects_total", "counter"),
            Map.entry("pivot_pool_destroyed_objects_total", "counter"),
            Map.entry("pivot_pool_overflow_objects_total", "counter"), Map.entry("pivot_pool_borrows_total", "counter"),
            Map.entry("pivot_pool_timeouts_total", "counter"),
            Map.entry("pivot_pool_creation_failures_total", "counter"), Map.entry("pivot_pool_leaks_total", "counter"),
            Map.entry("pivot_pool_wait_seconds", "summary"), Map.entry("pivot_pool_wait_seconds_max", "gauge"), Map.entry("pivot_pool_global_max_size", "gauge"),
            Map.entry("pivot_pool_grant", "gauge"), Map.entry("pivot_pool_target", "gauge"),
            Map.entry("pivot_pool_demand", "gauge"), Map.entry("pivot_pool_partitioned", "gauge"),
            Map.entry("pivot_coordinator_connected", "gauge"), Map.entry("pivot_coordinator_leader", "gauge"),
            Map.entry("pivot_coordinator_members", "gauge"), Map.entry("pivot_coordinator_fallback_total", "counter"),
            Map.entry("pivot_coordinator_foreign_applications", "gauge"),
            Map.entry("pivot_coordinator_rebalances_total", "counter"),
            Map.entry("pivot_coordinator_operation_seconds", "summary"),
            Map.entry("pivot_coordinator_operation_seconds_max", "gauge")));

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(PivotPoolMetricsAutoConfiguration.class,
                PivotPoolAutoConfiguration.class, PrometheusMetricsExportAutoConfiguration.class,
                CompositeMeterRegistryAutoConfiguration.class, MetricsAutoConfiguration.class))
        .withUserConfiguration(RendererSpec.class)
        .withPropertyValues("pivot.pool.pools.renderers.global-max-size=6", "distributed.sync-interval=100ms");

    @Test
    void everyMeterShouldReachPrometheusUnderItsOwnUnambiguousName() {
        this.contextRunner.run((context) -> {
            borrowOnce(context.getBean("renderers", Pool.class));
            String scrape = scrapeOnceCoordinatorCallsAreTimed(context.getBean(PrometheusMeterRegistry.class));
            assertThat(families(scrape)).isEqualTo(FAMILIES);
            assertThat(scrape).as("the counter of created objects, not stripped to pivot_pool_total")
                .contains("pivot_pool_created_objects_total{pool=\"renderers\"} 1.0")
                .doesNotContain("pivot_pool_total")
                .contains("pivot_pool_max_size{pool=\"renderers\"} 6.0")
                .contains("pivot_pool_global_max_size{pool=\"renderers\"} 6.0")
                .contains("pivot_pool_wait_seconds_count{pool=\"renderers\"} 0");
        });
    }

    @Test
    void openMetricsScrapeShouldKeepEveryNameToo() {
        this.contextRunner.run((context) -> {
            borrowOnce(context.getBean("renderers", Pool.class));
            String scrape = context.getBean(PrometheusMeterRegistry.class)
                .scrape("application/openmetrics-text; version=1.0.0; charset=utf-8");
            assertThat(scrape).contains("# TYPE pivot_pool_created_objects counter")
                .contains("pivot_pool_created_objects_total{pool=\"renderers\"} 1.0")
                .contains("# TYPE pivot_pool_max_size gauge")
                .contains("# TYPE pivot_coordinator_rebalances counter")
                .doesNotContain("# TYPE pivot_pool counter");
        });
    }

    @Test
    void distributionSettingsShouldApplyToCoordinatorOperations() {
        this.contextRunner
            .withPropertyValues("management.metrics.distribution.percentiles-histogram.pivot.coordinator.operation=true",
                    "management.metrics.distribution.slo.pivot.coordinator.operation=7ms")
            .run((context) -> {
                String scrape = scrapeOnceCoordinatorCallsAreTimed(context.getBean(PrometheusMeterRegistry.class));
                assertThat(scrape).as("a histogram, as percentiles-histogram asks")
                    .contains("# TYPE pivot_coordinator_operation_seconds histogram")
                    .as("the SLO boundary, as slo asks")
                    .containsPattern("pivot_coordinator_operation_seconds_bucket\\{backend=\"noop\",operation=\"heartbeat\","
                            + "outcome=\"success\",le=\"0.007\"} [0-9]")
                    .contains("pivot_coordinator_operation_seconds_max{");
            });
    }

    @Test
    void distributionSettingsShouldApplyToTheWaitTimer() {
        this.contextRunner
            .withPropertyValues("management.metrics.distribution.percentiles-histogram.pivot.pool.wait=true",
                    "management.metrics.distribution.slo.pivot.pool.wait=50ms", "pivot.pool.pools.renderers.max-size=1")
            .run((context) -> {
                Pool<?> pool = context.getBean("renderers", Pool.class);
                io.pivotpool.pool.Lease<?> held = pool.borrow();
                Thread returner = new Thread(() -> {
                    try {
                        Thread.sleep(20);
                    }
                    catch (InterruptedException ex) {
                        Thread.currentThread().interrupt();
                    }
                    held.close();
                });
                returner.start();
                pool.borrow(java.time.Duration.ofSeconds(5)).close();
                returner.join();
                String scrape = context.getBean(PrometheusMeterRegistry.class).scrape();
                assertThat(scrape).contains("# TYPE pivot_pool_wait_seconds histogram")
                    .containsPattern("pivot_pool_wait_seconds_bucket\\{pool=\"renderers\",le=\"0.05\"} [01]")
                    .contains("pivot_pool_wait_seconds_count{pool=\"renderers\"} 1");
            });
    }

    /**
     * The calls a capped pool makes while the context starts come before the timer is bound to the
     * registry: wait for the first round after it (sync-interval 100 ms).
     */
    private static String scrapeOnceCoordinatorCallsAreTimed(PrometheusMeterRegistry registry)
            throws InterruptedException {
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(5).toNanos();
        String scrape = registry.scrape();
        while (!scrape.contains("operation=\"heartbeat\"") && System.nanoTime() < deadline) {
            Thread.sleep(20);
            scrape = registry.scrape();
        }
        return scrape;
    }

    @Test
    void aScrapeShouldReadEachPoolsStatsOnce() {
        Pool<?> pool = mock(Pool.class);
        given(pool.name()).willReturn("renderers");
        given(pool.stats()).willReturn(new PoolStats("renderers", 3, 2, 1, 0, 10, 3, 0, 7, 0, 0, 0, 0,
                new WaitTimeStats(7, 3, 1_000_000, 500_000, 100_000, 400_000, 500_000)));
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new PoolMeterBinder(() -> List.of(pool)).bindTo(registry);

        String scrape = registry.scrape();
        verify(pool, times(1)).stats();
        assertThat(scrape).contains("pivot_pool_size{pool=\"renderers\"} 3.0")
            .contains("pivot_pool_idle{pool=\"renderers\"} 2.0")
            .contains("pivot_pool_borrows_total{pool=\"renderers\"} 7.0");

        registry.scrape();
        verify(pool, times(2)).stats();
    }

    private static void borrowOnce(Pool<?> pool) {
        try (Lease<?> lease = pool.borrow()) {
            assertThat(lease.get()).isInstanceOf(Renderer.class);
        }
    }

    private static Map<String, String> families(String scrape) {
        Map<String, String> families = new TreeMap<>();
        Matcher matcher = TYPE_LINE.matcher(scrape);
        while (matcher.find()) {
            String previous = families.put(matcher.group(1), matcher.group(2));
            assertThat(previous).as("family %s declared twice", matcher.group(1)).isNull();
        }
        return families;
    }
}
