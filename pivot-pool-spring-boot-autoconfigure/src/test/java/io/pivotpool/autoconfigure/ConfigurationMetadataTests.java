package io.pivotpool.autoconfigure;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.pivotpool.distributed.internal.CoordinatorSelection;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The IDE's view of the properties: the metadata the configuration processor wrote, merged with
 * {@code additional-spring-configuration-metadata.json}.
 */
class ConfigurationMetadataTests {

    private final JsonNode metadata = JsonMapper.shared()
        .readTree(Path.of("target/classes/META-INF/spring-configuration-metadata.json").toFile());

    @Test
    void healthSwitchShouldBeDescribed() {
        JsonNode health = property("management.health.pivot-pool.enabled");
        assertThat(health.get("type").asString()).isEqualTo("java.lang.Boolean");
        assertThat(health.get("defaultValue").asBoolean()).isTrue();
    }

    @Test
    void perPoolKeysShouldBeDocumentedOnThePoolsMap() {
        assertThat(property("pivot.pool.pools").get("description").asString()).contains("max-size")
            .contains("overflow (wait, elastic, fallback or fail)")
            .contains("global-max-size (objects all instances together may hold")
            .contains("partition-size (objects kept at most");
    }

    @Test
    void profileAndCoordinationShouldHaveValueHints() {
        assertThat(hintValues("pivot.pool.profile")).containsExactly("standard", "high", "extreme", "test");
        assertThat(hintValues("distributed.coordination")).containsExactly("none", "redis", "etcd");
    }

    /** Every backend offered is one this project publishes (a module named for it), and none is missing. */
    @Test
    void coordinationShouldOfferExactlyTheBackendsThisProjectPublishes() {
        for (String backend : hintValues("distributed.coordination")) {
            if (!backend.equals("none")) {
                assertThat(CoordinatorSelection.moduleOf(backend)).as("the module of %s", backend).isNotNull();
            }
        }
        assertThat(CoordinatorSelection.moduleOf("consul")).as("Consul is not built").isNull();
    }

    private JsonNode property(String name) {
        for (JsonNode property : this.metadata.get("properties")) {
            if (name.equals(property.get("name").asString())) {
                return property;
            }
        }
        throw new AssertionError("No metadata for " + name);
    }

    private List<String> hintValues(String name) {
        List<String> values = new ArrayList<>();
        for (JsonNode hint : this.metadata.get("hints")) {
            if (name.equals(hint.get("name").asString())) {
                hint.get("values").forEach((value) -> values.add(value.get("value").asString()));
            }
        }
        return values;
    }
}
