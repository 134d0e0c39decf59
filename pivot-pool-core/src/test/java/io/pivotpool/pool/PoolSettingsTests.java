package io.pivotpool.pool;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.time.Duration;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Every rule of {@link PoolSettings.Builder#build()}: a broken one throws an
 * {@link PoolSettings.InvalidSettingException} that carries the property, the value and the rule
 * (what the Boot starter reports), and a message that reads on its own.
 */
class PoolSettingsTests {

    /** The durations for which zero means "never"; housekeeping-interval must be positive. */
    private static final List<String> MAY_BE_ZERO = List.of("borrow-timeout", "idle-timeout", "max-lifetime",
            "leak-detection-threshold");

    private static final Duration TOO_LONG = PoolSettings.LONGEST_DURATION.plusNanos(1);

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenRules")
    void aBrokenRuleShouldNameThePropertyTheValueAndTheRule(BrokenRule broken) {
        assertThatExceptionOfType(PoolSettings.InvalidSettingException.class)
            .isThrownBy(() -> broken.settings().apply(PoolSettings.builder()).build())
            .satisfies((ex) -> {
                assertThat(ex.getMessage()).isEqualTo(broken.message());
                assertThat(ex.property()).isEqualTo(broken.property());
                assertThat(ex.value()).isEqualTo(broken.value());
                assertThat(ex.rule()).isEqualTo(broken.rule());
                assertThat(ex.relatedProperty()).isEqualTo(broken.relatedProperty());
            });
    }

    static Stream<BrokenRule> brokenRules() {
        int tooLarge = PoolSettings.LARGEST_MAX_SIZE + 1;
        Stream<BrokenRule> sizes = Stream.of(
                new BrokenRule("max-size must be at least 1, was 0", (b) -> b.maxSize(0), "max-size", 0,
                        "must be at least 1", null),
                new BrokenRule("max-size must be at most 2097151, was 2097152", (b) -> b.maxSize(tooLarge), "max-size",
                        tooLarge, "must be at most 2097151", null),
                new BrokenRule("min-idle must not be negative, was -1", (b) -> b.minIdle(-1), "min-idle", -1,
                        "must not be negative", null),
                new BrokenRule("min-idle (3) must not exceed max-size (2)", (b) -> b.maxSize(2).minIdle(3), "min-idle",
                        3, "must not exceed max-size (2)", "max-size"),
                new BrokenRule("emergency-limit must not be negative, was -1", (b) -> b.emergencyLimit(-1),
                        "emergency-limit", -1, "must not be negative", null),
                new BrokenRule("emergency-limit (3) must be at least max-size (5)",
                        (b) -> b.maxSize(5).emergencyLimit(3), "emergency-limit", 3, "must be at least max-size (5)",
                        "max-size"),
                new BrokenRule("emergency-limit must be at most 2097151, was 2097152",
                        (b) -> b.emergencyLimit(tooLarge), "emergency-limit", tooLarge, "must be at most 2097151",
                        null));
        Stream<BrokenRule> negative = MAY_BE_ZERO.stream()
            .map((property) -> new BrokenRule(property + " must not be negative, was PT-1S",
                    (b) -> duration(b, property, Duration.ofSeconds(-1)), property, Duration.ofSeconds(-1),
                    "must not be negative", null));
        Stream<BrokenRule> housekeeping = Stream.of(Duration.ZERO, Duration.ofSeconds(-1))
            .map((interval) -> new BrokenRule("housekeeping-interval must be positive, was " + interval,
                    (b) -> b.housekeepingInterval(interval), "housekeeping-interval", interval, "must be positive",
                    null));
        Stream<BrokenRule> tooLong = Stream.concat(MAY_BE_ZERO.stream(), Stream.of("housekeeping-interval"))
            .map((property) -> new BrokenRule(property + " must be at most PT8760H, was PT8760H0.000000001S",
                    (b) -> duration(b, property, TOO_LONG), property, TOO_LONG, "must be at most PT8760H", null));
        return Stream.of(sizes, negative, housekeeping, tooLong).flatMap((rules) -> rules);
    }

    @Test
    void valuesAtTheEdgeOfEveryRuleShouldBeAccepted() {
        PoolSettings largest = PoolSettings.builder()
            .maxSize(PoolSettings.LARGEST_MAX_SIZE)
            .minIdle(PoolSettings.LARGEST_MAX_SIZE)
            .emergencyLimit(PoolSettings.LARGEST_MAX_SIZE)
            .borrowTimeout(PoolSettings.LONGEST_DURATION)
            .idleTimeout(PoolSettings.LONGEST_DURATION)
            .maxLifetime(PoolSettings.LONGEST_DURATION)
            .leakDetectionThreshold(PoolSettings.LONGEST_DURATION)
            .housekeepingInterval(PoolSettings.LONGEST_DURATION)
            .build();
        assertThat(largest.minIdle()).isEqualTo(largest.emergencyLimit()).isEqualTo(PoolSettings.LARGEST_MAX_SIZE);
        PoolSettings smallest = PoolSettings.builder()
            .maxSize(1)
            .minIdle(0)
            .emergencyLimit(1)
            .borrowTimeout(Duration.ZERO)
            .idleTimeout(Duration.ZERO)
            .maxLifetime(Duration.ZERO)
            .leakDetectionThreshold(Duration.ZERO)
            .housekeepingInterval(Duration.ofNanos(1))
            .build();
        assertThat(smallest.emergencyLimit()).isEqualTo(1);
        assertThat(PoolSettings.builder().maxSize(5).emergencyLimit(0).build().emergencyLimit())
            .as("zero is twice max-size, never below it")
            .isEqualTo(10);
    }

    @Test
    void aSerializedBrokenRuleShouldKeepItsValue() throws Exception {
        PoolSettings.InvalidSettingException thrown = catchInvalid(PoolSettings.builder().maxSize(2).minIdle(3));
        PoolSettings.InvalidSettingException copy = roundTrip(thrown);
        assertThat(copy).hasMessage("min-idle (3) must not exceed max-size (2)");
        assertThat(copy.property()).isEqualTo("min-idle");
        assertThat(copy.value()).isEqualTo(3);
        assertThat(copy.relatedProperty()).isEqualTo("max-size");
        assertThat(roundTrip(catchInvalid(PoolSettings.builder().borrowTimeout(TOO_LONG))).value()).isEqualTo(TOO_LONG);
    }

    private static PoolSettings.Builder duration(PoolSettings.Builder builder, String property, Duration duration) {
        return switch (property) {
            case "borrow-timeout" -> builder.borrowTimeout(duration);
            case "idle-timeout" -> builder.idleTimeout(duration);
            case "max-lifetime" -> builder.maxLifetime(duration);
            case "leak-detection-threshold" -> builder.leakDetectionThreshold(duration);
            case "housekeeping-interval" -> builder.housekeepingInterval(duration);
            default -> throw new IllegalArgumentException(property);
        };
    }

    private static PoolSettings.InvalidSettingException catchInvalid(PoolSettings.Builder builder) {
        try {
            builder.build();
        }
        catch (PoolSettings.InvalidSettingException ex) {
            return ex;
        }
        throw new AssertionError("built settings that break a rule");
    }

    @SuppressWarnings("unchecked")
    private static <T> T roundTrip(T object) throws IOException, ClassNotFoundException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(object);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return (T) in.readObject();
        }
    }

    /** One broken rule; its message names the case in the report. */
    record BrokenRule(String message, UnaryOperator<PoolSettings.Builder> settings, String property, Object value,
            String rule, String relatedProperty) {

        @Override
        public String toString() {
            return this.message;
        }
    }
}
