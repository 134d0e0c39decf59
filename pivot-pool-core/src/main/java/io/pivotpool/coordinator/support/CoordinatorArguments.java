package io.pivotpool.coordinator.support;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.InstanceInfo;

import org.jspecify.annotations.Nullable;

/**
 * The argument rules of the {@link Coordinator} SPI, which {@code CoordinatorContract} checks, in
 * one place for every backend (the built-in ones and extensions) to apply before it talks to its
 * server. Each method throws the exception the contract expects, with a message naming the
 * argument.
 */
public final class CoordinatorArguments {

    private CoordinatorArguments() {
    }

    /**
     * An unmodifiable copy of {@code map} that iterates in its order, refusing null keys and values
     * as {@link Map#copyOf} does. Unlike {@code Map.copyOf}, whose order changes from one JVM to the
     * next, the same input always iterates the same way: the order of a round's writes or of the
     * grants read decides the order of calls, which a replayed simulation must see again.
     */
    public static <K, V> Map<K, V> copyInOrder(Map<K, V> map) {
        Map<K, V> copy = new LinkedHashMap<>(map.size() * 2);
        map.forEach((key, value) -> copy.put(Objects.requireNonNull(key), Objects.requireNonNull(value)));
        return Collections.unmodifiableMap(copy);
    }

    /**
     * A TTL of a registration, lease, grant or value: present and positive.
     *
     * @throws NullPointerException if it is {@code null}
     * @throws IllegalArgumentException if it is zero or negative
     */
    public static Duration requirePositiveTtl(@Nullable Duration ttl) {
        Objects.requireNonNull(ttl, "ttl must not be null");
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("ttl must be positive, was " + ttl);
        }
        return ttl;
    }

    /**
     * A ttl or a wait in nanoseconds, to add to {@link System#nanoTime()}: a duration beyond what a
     * {@code long} of nanoseconds holds (about 292 years) becomes {@code Long.MAX_VALUE / 2}, which
     * still leaves room for the addition (the difference of two such deadlines never overflows).
     */
    public static long saturatedNanos(Duration duration) {
        try {
            return Math.min(duration.toNanos(), Long.MAX_VALUE / 2);
        }
        catch (ArithmeticException ex) {
            return Long.MAX_VALUE / 2;
        }
    }

    /**
     * How long a blocking pop waits: present and not negative ({@link Duration#ZERO} does not wait).
     *
     * @throws NullPointerException if it is {@code null}
     * @throws IllegalArgumentException if it is negative
     */
    public static Duration requireWaitTimeout(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout must not be null");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must not be negative, was " + timeout);
        }
        return timeout;
    }

    /**
     * The most bytes a bounded read takes of one value: not negative.
     *
     * @throws IllegalArgumentException if it is negative
     */
    public static int requireValueBound(int maxValueBytes) {
        if (maxValueBytes < 0) {
            throw new IllegalArgumentException("maxValueBytes must not be negative, was " + maxValueBytes);
        }
        return maxValueBytes;
    }

    /**
     * A capacity request: a pool and an instance, and counts that are not negative.
     *
     * @throws NullPointerException if {@code pool} or {@code instanceId} is {@code null}
     * @throws IllegalArgumentException if a count is negative
     */
    public static void requireCapacityRequest(String pool, String instanceId, int requested, int globalMaxSize) {
        Objects.requireNonNull(pool, "pool must not be null");
        Objects.requireNonNull(instanceId, "instanceId must not be null");
        if (requested < 0) {
            throw new IllegalArgumentException("requested must not be negative, was " + requested);
        }
        if (globalMaxSize < 0) {
            throw new IllegalArgumentException("globalMaxSize must not be negative, was " + globalMaxSize);
        }
    }

    /** The most fields an instance's metadata may bring (a backend adds its own {@code ttl} field). */
    public static final int MAX_INSTANCE_FIELDS = 63;

    /** The most bytes (UTF-8, names and values together) an instance's fields may take. */
    public static final int MAX_INSTANCE_BYTES = 16 * 1024;

    /**
     * An instance every backend can register: at most {@link #MAX_INSTANCE_FIELDS} fields of at most
     * {@link #MAX_INSTANCE_BYTES} bytes. Other instances treat a larger record as garbage, so a
     * backend refuses to write one rather than let the instance vanish from their view.
     *
     * @return the instance's fields, as {@link InstanceInfo#toFields()} gives them
     * @throws IllegalArgumentException naming the instance and the limits
     */
    public static Map<String, String> requireRegistrable(InstanceInfo instance) {
        Objects.requireNonNull(instance, "instance must not be null");
        Map<String, String> fields = instance.toFields();
        int size = 0;
        for (Map.Entry<String, String> field : fields.entrySet()) {
            size += field.getKey().getBytes(StandardCharsets.UTF_8).length
                    + field.getValue().getBytes(StandardCharsets.UTF_8).length;
        }
        if (fields.size() > MAX_INSTANCE_FIELDS || size > MAX_INSTANCE_BYTES) {
            throw new IllegalArgumentException("instance '" + RemoteText.escape(instance.id()) + "' has "
                    + fields.size() + " fields of " + size + " bytes; at most " + MAX_INSTANCE_FIELDS
                    + " fields of " + MAX_INSTANCE_BYTES + " bytes in all can be registered");
        }
        return fields;
    }
}
