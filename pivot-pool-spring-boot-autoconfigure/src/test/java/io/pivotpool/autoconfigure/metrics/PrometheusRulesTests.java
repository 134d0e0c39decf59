package io.pivotpool.autoconfigure.metrics;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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

    @Test
    void everySeriesTheRulesReadIsOneTheMetersExport() throws IOException {
        String rules = Files.readString(RULES_DIRECTORY.resolve("pivot-pool-rules.yml"));
        Set<String> read = new TreeSet<>();
        Matcher series = SERIES.matcher(rules.replaceAll("(?m)^\\s*#.*$", ""));
        while (series.find()) {
            read.add(series.group());
        }
        assertThat(read).as("series the rules read").isNotEmpty();
        Set<String> exported = new TreeSet<>();
        PrometheusScrapeTests.FAMILIES.forEach((family, type) -> {
            exported.add(family);
            if (type.equals("summary")) {
                exported.add(family + "_count");
                exported.add(family + "_sum");
            }
        });
        assertThat(exported).as("series the meters export").containsAll(read);
    }

    @Test
    void promtoolFindsTheRulesValidAndTheirUnitTestsPass() throws Exception {
        String promtool = promtool();
        assertThat(run(promtool, "check", "rules", "pivot-pool-rules.yml")).contains("SUCCESS");
        assertThat(run(promtool, "test", "rules", "pivot-pool-rules.test.yml")).contains("SUCCESS");
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
