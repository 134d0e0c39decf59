package io.pivotpool.sample;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.resttestclient.autoconfigure.AutoConfigureRestTestClient;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.test.web.servlet.client.RestTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's {@code /actuator/pools} example against the sample's real output after the same
 * requests: the same fields, no more and no fewer, and the example's own figures consistent with
 * what the endpoint promises (a percentile never above the max, waits never more than borrows).
 * Values differ from run to run; the shape and the rules may not.
 */
@SpringBootTest(webEnvironment = WebEnvironment.RANDOM_PORT)
@AutoConfigureRestTestClient
class ReadmeExampleTests {

    private static final String COMMAND = "$ curl -s localhost:8080/actuator/pools";

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @Autowired
    private RestTestClient client;

    @Test
    void theReadmesPoolsExampleShouldHaveTheFieldsOfTheRealOutput() throws IOException {
        this.client.get().uri("/quotes/ABC-1").exchange().expectStatus().isOk();
        this.client.get().uri("/quotes?skus=A-1,A-2,A-3,A-4,A-5,A-6,A-7,A-8,A-9,A-10").exchange().expectStatus().isOk();
        String real = this.client.get().uri("/actuator/pools").exchange().expectStatus().isOk()
            .expectBody(String.class).returnResult().getResponseBody();
        JsonNode example = JSON.readTree(readmeExample());
        assertThat(paths(example)).as("fields of the README's example against the real output")
            .isEqualTo(paths(JSON.readTree(real)));
        JsonNode waitTime = example.path("pools").path("partner-clients").path("waitTime");
        assertThat(waitTime.path("p95Ms").asDouble()).isLessThanOrEqualTo(waitTime.path("maxMs").asDouble());
        assertThat(waitTime.path("p99Ms").asDouble()).isLessThanOrEqualTo(waitTime.path("maxMs").asDouble());
        assertThat(waitTime.path("count").asLong()).isLessThanOrEqualTo(waitTime.path("borrows").asLong());
    }

    /** The JSON printed after the README's {@code curl} of {@code /actuator/pools}. */
    private static String readmeExample() throws IOException {
        String readme = Files.readString(Path.of("..", "README.md"));
        int command = readme.indexOf(COMMAND);
        assertThat(command).as("the README shows %s", COMMAND).isNotNegative();
        int start = readme.indexOf('{', command);
        int end = readme.indexOf("\n}", start);
        return readme.substring(start, end + 2);
    }

    /** Every field's path; array elements share one path, maps of names (pools, metadata) keep their keys. */
    private static Set<String> paths(JsonNode node) {
        Set<String> paths = new TreeSet<>();
        collect(node, "$", paths);
        return paths;
    }

    private static void collect(JsonNode node, String path, Set<String> paths) {
        if (node.isObject()) {
            for (Map.Entry<String, JsonNode> field : node.properties()) {
                String child = path + "." + field.getKey();
                paths.add(child);
                collect(field.getValue(), child, paths);
            }
        }
        else if (node.isArray()) {
            for (JsonNode element : node) {
                collect(element, path + "[]", paths);
            }
        }
    }
}
