package io.pivotpool.autoconfigure.metrics;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.pivotpool.testsupport.ServerProcesses;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Prometheus rules shipped in {@code docs/prometheus}: every series they read is one the
 * meters export (as {@link PrometheusScrapeTests} scrapes them), and {@code promtool} finds them
 * valid and passes their unit tests ({@code pivot-pool-rules.test.yml}). promtool comes with
 * Debian's {@code prometheus} package; CI installs it and fails without it, elsewhere the promtool
 * case is skipped with a warning.
 */
class PrometheusRulesTests {

    private static final Path RULES_DIRECTORY = Path.of("..", "docs", "prometheus");

    private static final Pattern SERIES = Pattern.compile("\\bpivot_[a-z_]+\\b(?!:)");

    static final Path DASHBOARD = Path.of("..", "docs", "grafana", "pivot-pool-dashboard.json");

    private static final Pattern EXPR = Pattern.compile("\"expr\":\\s*\"((?:[^\"\\\\]|\\\\.)*)\"");

    @Test
    void everySeriesTheRulesReadIsOneTheMetersExport() throws IOException {
        String rules = Files.readString(RULES_DIRECTORY.resolve("pivot-pool-rules.yml"));
        Set<String> read = new TreeSet<>();
        Matcher series = SERIES.matcher(rules.replaceAll("(?m)^\\s*#.*$", ""));
        while (series.find()) {
            read.add(series.group());
        }
        assertThat(read).as("series the rules read").isNotEmpty();
        assertThat(exported()).as("series the meters export").containsAll(read);
    }

    @Test
    void promtoolFindsTheRulesValidAndTheirUnitTestsPass() throws Exception {
        String promtool = promtool();
        assertThat(run(promtool, "check", "rules", "pivot-pool-rules.yml")).contains("SUCCESS");
        assertThat(run(promtool, "test", "rules", "pivot-pool-rules.test.yml")).contains("SUCCESS");
    }

    @Test
    void everySeriesTheDashboardReadsIsOneTheMetersExport() throws IOException {
        Set<String> read = new TreeSet<>();
        for (String expression : dashboardExpressions()) {
            Matcher series = SERIES.matcher(expression);
            while (series.find()) {
                read.add(series.group());
            }
        }
        assertThat(read).as("series the dashboard reads").hasSizeGreaterThan(10);
        assertThat(exported()).as("series the meters export").containsAll(read);
    }

    /** Each panel's query, its Grafana variables given values, is valid PromQL: promtool checks it as a rule's. */
    @Test
    void promtoolFindsEveryQueryOfTheDashboardValid() throws Exception {
        String promtool = promtool();
        StringBuilder rules = new StringBuilder("groups:\n  - name: pivot-pool-dashboard\n    rules:\n");
        List<String> expressions = dashboardExpressions();
        for (int i = 0; i < expressions.size(); i++) {
            rules.append("      - record: pivot_pool_dashboard:query_").append(i).append("\n        expr: |\n          ")
                .append(withVariables(expressions.get(i))).append("\n");
        }
        Path checked = Files.createTempFile("pivot-pool-dashboard", ".yml");
        try {
            Files.writeString(checked, rules);
            assertThat(run(promtool, "check", "rules", checked.toAbsolutePath().toString()))
                .contains("SUCCESS: " + expressions.size() + " rules found");
        }
        finally {
            Files.delete(checked);
        }
    }

    /** The dashboard's queries as written, with Grafana's variables. */
    static List<String> dashboardExpressions() throws IOException {
        String dashboard = Files.readString(DASHBOARD);
        List<String> expressions = new ArrayList<>();
        Matcher expr = EXPR.matcher(dashboard);
        while (expr.find()) {
            expressions.add(expr.group(1).replace("\\\"", "\"").replace("\\\\", "\\"));
        }
        assertThat(expressions).as("queries in %s", DASHBOARD).isNotEmpty();
        return expressions;
    }

    /** A query as Grafana sends it with every application and pool selected and a 1-minute rate interval. */
    static String withVariables(String expression) {
        return expression.replace("$job", ".+").replace("$pool", ".+").replace("$__rate_interval", "1m");
    }

    private static Set<String> exported() {
        Set<String> exported = new TreeSet<>();
        PrometheusScrapeTests.FAMILIES.forEach((family, type) -> {
            exported.add(family);
            if (type.equals("summary")) {
                exported.add(family + "_count");
                exported.add(family + "_sum");
            }
        });
        return exported;
    }

    private static String run(String... command) throws Exception {
        File output = File.createTempFile("promtool", ".txt");
        try {
            Process process = new ProcessBuilder(command).directory(RULES_DIRECTORY.toFile())
                .redirectErrorStream(true)
                .redirectOutput(output)
                .start();
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("promtool ends").isTrue();
            String text = Files.readString(output.toPath(), StandardCharsets.UTF_8);
            assertThat(process.exitValue()).as("%s:%n%s", String.join(" ", command), text).isZero();
            return text;
        }
        finally {
            output.delete();
        }
    }

    private static String promtool() {
        String promtool = ServerProcesses.onPath("promtool");
        if (promtool == null) {
            throw ServerProcesses.unavailable("promtool is not on the PATH: the shipped Prometheus rules are tested "
                    + "with it, and .ci/run installs it. Install it (Debian/Ubuntu: apt-get install -y prometheus, "
                    + "which brings promtool; macOS: brew install prometheus).");
        }
        return promtool;
    }
}
