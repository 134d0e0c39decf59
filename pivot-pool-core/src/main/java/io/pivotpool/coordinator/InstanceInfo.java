package io.pivotpool.coordinator;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One application instance as the cluster sees it.
 *
 * @param id unique per running instance
 * @param host where it runs, for humans
 * @param startedAtMillis when it started, epoch milliseconds
 * @param metadata small string attributes (application name, version, ...)
 */
public record InstanceInfo(String id, String host, long startedAtMillis, Map<String, String> metadata) {

    public InstanceInfo {
        Objects.requireNonNull(id, "id must not be null");
        Objects.requireNonNull(host, "host must not be null");
        metadata = Map.copyOf(metadata);
    }

    /**
     * The instance as flat string fields, the form backends store (a Redis hash, a JSON object):
     * never Java serialization.
     */
    public Map<String, String> toFields() {
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("id", this.id);
        fields.put("host", this.host);
        fields.put("startedAt", Long.toString(this.startedAtMillis));
        this.metadata.forEach((key, value) -> fields.put("meta." + key, value));
        return fields;
    }

    /**
     * Reads the fields written by {@link #toFields()}.
     *
     * @throws IllegalArgumentException if they do not describe an instance (the caller logs and
     *     skips the entry)
     */
    public static InstanceInfo fromFields(Map<String, String> fields) {
        String id = fields.get("id");
        String host = fields.get("host");
        String startedAt = fields.get("startedAt");
        if (id == null || id.isEmpty() || host == null || startedAt == null) {
            throw new IllegalArgumentException("not an instance: missing id, host or startedAt");
        }
        long startedAtMillis;
        try {
            startedAtMillis = Long.parseLong(startedAt);
        }
        catch (NumberFormatException ex) {
            throw new IllegalArgumentException("not an instance: startedAt is not a number", ex);
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        fields.forEach((key, value) -> {
            if (key.startsWith("meta.") && value != null) {
                metadata.put(key.substring("meta.".length()), value);
            }
        });
        return new InstanceInfo(id, host, startedAtMillis, metadata);
    }
}
