package io.pivotpool.pool;

import java.io.Serializable;
import java.time.Duration;
import java.util.Objects;

import org.jspecify.annotations.Nullable;

/**
 * How a pool is sized and how long its objects live. Immutable; start from {@link #builder()} or
 * from a copy with {@link #toBuilder()}. The rules are checked by {@link Builder#build()}, which
 * throws an {@link InvalidSettingException} naming the setting by its property name
 * ({@code max-size}, ...), its value and the rule.
 */
public final class PoolSettings {

    /**
     * The largest max-size and emergency-limit a pool accepts, 2,097,151: the pool keeps its size,
     * its limit and the objects being destroyed in one 64-bit word so that the limit holds exactly.
     */
    public static final int LARGEST_MAX_SIZE = (1 << 21) - 1;

    /** The longest duration any pool setting accepts: 365 days. */
    public static final Duration LONGEST_DURATION = Duration.ofDays(365);

    /** The defaults: 0 idle, at most 10, {@link Overflow#WAIT} for 5 s, idle objects evicted after 10 min. */
    public static final PoolSettings DEFAULTS = builder().build();

    private final int minIdle;

    private final int maxSize;

    private final Overflow overflow;

    private final int emergencyLimit;

    private final Duration borrowTimeout;

    private final Duration idleTimeout;

    private final Duration maxLifetime;

    private final boolean checkLifetimeOnBorrow;

    private final Duration leakDetectionThreshold;

    private final Duration housekeepingInterval;

    private PoolSettings(Builder builder) {
        this.minIdle = builder.minIdle;
        this.maxSize = builder.maxSize;
        this.overflow = builder.overflow;
        this.emergencyLimit = builder.emergencyLimit;
        this.borrowTimeout = builder.borrowTimeout;
        this.idleTimeout = builder.idleTimeout;
        this.maxLifetime = builder.maxLifetime;
        this.checkLifetimeOnBorrow = builder.checkLifetimeOnBorrow;
        this.leakDetectionThreshold = builder.leakDetectionThreshold;
        this.housekeepingInterval = builder.housekeepingInterval;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder builder = new Builder();
        builder.minIdle = this.minIdle;
        builder.maxSize = this.maxSize;
        builder.overflow = this.overflow;
        builder.emergencyLimit = this.emergencyLimit;
        builder.borrowTimeout = this.borrowTimeout;
        builder.idleTimeout = this.idleTimeout;
        builder.maxLifetime = this.maxLifetime;
        builder.checkLifetimeOnBorrow = this.checkLifetimeOnBorrow;
        builder.leakDetectionThreshold = this.leakDetectionThreshold;
        builder.housekeepingInterval = this.housekeepingInterval;
        return builder;
    }

    /** Objects created at start and kept ready by the housekeeper. */
    public int minIdle() {
        return this.minIdle;
    }

    /** The size limit; {@link Pool#setMaxSize(int)} changes it at run time. */
    public int maxSize() {
        return this.maxSize;
    }

    public Overflow overflow() {
        return this.overflow;
    }

    /**
     * The ceiling of {@link Overflow#ELASTIC}: pooled plus overflow objects; twice max-size unless
     * set (at most {@link #LARGEST_MAX_SIZE}). It scales with run-time changes of max-size, in
     * proportion.
     */
    public int emergencyLimit() {
        return (this.emergencyLimit > 0) ? this.emergencyLimit : 2 * this.maxSize;
    }

    public Duration borrowTimeout() {
        return this.borrowTimeout;
    }

    /** How long an object may stay idle before it is destroyed (above min-idle); zero keeps it forever. */
    public Duration idleTimeout() {
        return this.idleTimeout;
    }

    /** How long an object may live before it is retired; zero keeps it forever. */
    public Duration maxLifetime() {
        return this.maxLifetime;
    }

    /**
     * Whether a borrow also checks max-lifetime (one clock read per borrow); otherwise the
     * housekeeper retires expired objects, up to one housekeeping interval late.
     */
    public boolean checkLifetimeOnBorrow() {
        return this.checkLifetimeOnBorrow;
    }

    /** A lease held longer than this logs one warning with the borrower's stack; zero turns it off. */
    public Duration leakDetectionThreshold() {
        return this.leakDetectionThreshold;
    }

    /** How often the housekeeper evicts, replenishes and looks for leaks. */
    public Duration housekeepingInterval() {
        return this.housekeepingInterval;
    }

    @Override
    public String toString() {
        return "PoolSettings[min-idle=" + this.minIdle + ", max-size=" + this.maxSize + ", overflow=" + this.overflow
                + ", emergency-limit=" + emergencyLimit() + ", borrow-timeout=" + this.borrowTimeout
                + ", idle-timeout=" + this.idleTimeout + ", max-lifetime=" + this.maxLifetime
                + ", check-lifetime-on-borrow=" + this.checkLifetimeOnBorrow + ", leak-detection-threshold="
                + this.leakDetectionThreshold + ", housekeeping-interval=" + this.housekeepingInterval + "]";
    }

    /** Collects settings; {@link #build()} checks them. */
    public static final class Builder {

        private int minIdle = 0;

        private int maxSize = 10;

        private Overflow overflow = Overflow.WAIT;

        private int emergencyLimit = 0;

        private Duration borrowTimeout = Duration.ofSeconds(5);

        private Duration idleTimeout = Duration.ofMinutes(10);

        private Duration maxLifetime = Duration.ZERO;

        private boolean checkLifetimeOnBorrow = false;

        private Duration leakDetectionThreshold = Duration.ZERO;

        private Duration housekeepingInterval = Duration.ofSeconds(5);

        private Builder() {
        }

        public Builder minIdle(int minIdle) {
            this.minIdle = minIdle;
            return this;
        }

        public Builder maxSize(int maxSize) {
            this.maxSize = maxSize;
            return this;
        }

        public Builder overflow(Overflow overflow) {
            this.overflow = Objects.requireNonNull(overflow, "overflow must not be null");
            return this;
        }

        /** Zero means twice max-size. */
        public Builder emergencyLimit(int emergencyLimit) {
            this.emergencyLimit = emergencyLimit;
            return this;
        }

        public Builder borrowTimeout(Duration borrowTimeout) {
            this.borrowTimeout = Objects.requireNonNull(borrowTimeout, "borrow-timeout must not be null");
            return this;
        }

        public Builder idleTimeout(Duration idleTimeout) {
            this.idleTimeout = Objects.requireNonNull(idleTimeout, "idle-timeout must not be null");
            return this;
        }

        public Builder maxLifetime(Duration maxLifetime) {
            this.maxLifetime = Objects.requireNonNull(maxLifetime, "max-lifetime must not be null");
            return this;
        }

        public Builder checkLifetimeOnBorrow(boolean checkLifetimeOnBorrow) {
            this.checkLifetimeOnBorrow = checkLifetimeOnBorrow;
            return this;
        }

        public Builder leakDetectionThreshold(Duration leakDetectionThreshold) {
            this.leakDetectionThreshold = Objects.requireNonNull(leakDetectionThreshold,
                    "leak-detection-threshold must not be null");
            return this;
        }

        public Builder housekeepingInterval(Duration housekeepingInterval) {
            this.housekeepingInterval = Objects.requireNonNull(housekeepingInterval,
                    "housekeeping-interval must not be null");
            return this;
        }

        /**
         * Checks the rules and builds the settings.
         *
         * @throws InvalidSettingException naming the first broken rule, its property and value
         */
        public PoolSettings build() {
            requireAtLeast("max-size", this.maxSize, 1);
            requireAtMost("max-size", this.maxSize, LARGEST_MAX_SIZE);
            requireNotNegative("min-idle", this.minIdle);
            if (this.minIdle > this.maxSize) {
                throw new InvalidSettingException("min-idle", this.minIdle,
                        "must not exceed max-size (" + this.maxSize + ")", "max-size");
            }
            requireNotNegative("emergency-limit", this.emergencyLimit);
            // Zero is not a limit but "twice max-size", which keeps the rule by construction.
            if (this.emergencyLimit != 0 && this.emergencyLimit < this.maxSize) {
                throw new InvalidSettingException("emergency-limit", this.emergencyLimit,
                        "must be at least max-size (" + this.maxSize + ")", "max-size");
            }
            requireAtMost("emergency-limit", this.emergencyLimit, LARGEST_MAX_SIZE);
            requireNotNegative("borrow-timeout", this.borrowTimeout);
            requireNotNegative("idle-timeout", this.idleTimeout);
            requireNotNegative("max-lifetime", this.maxLifetime);
            requireNotNegative("leak-detection-threshold", this.leakDetectionThreshold);
            if (this.housekeepingInterval.isNegative() || this.housekeepingInterval.isZero()) {
                throw new InvalidSettingException("housekeeping-interval", this.housekeepingInterval,
                        "must be positive");
            }
            requireAtMost("borrow-timeout", this.borrowTimeout);
            requireAtMost("idle-timeout", this.idleTimeout);
            requireAtMost("max-lifetime", this.maxLifetime);
            requireAtMost("leak-detection-threshold", this.leakDetectionThreshold);
            requireAtMost("housekeeping-interval", this.housekeepingInterval);
            return new PoolSettings(this);
        }

        private static void requireAtLeast(String property, int value, int least) {
            if (value < least) {
                throw new InvalidSettingException(property, value, "must be at least " + least);
            }
        }

        private static void requireAtMost(String property, int value, int most) {
            if (value > most) {
                throw new InvalidSettingException(property, value, "must be at most " + most);
            }
        }

        private static void requireNotNegative(String property, int value) {
            if (value < 0) {
                throw new InvalidSettingException(property, value, "must not be negative");
            }
        }

        /** Far beyond any sane setting, and far below where nanosecond arithmetic overflows (292 years). */
        private static void requireAtMost(String property, Duration duration) {
            if (duration.compareTo(LONGEST_DURATION) > 0) {
                throw new InvalidSettingException(property, duration, "must be at most " + LONGEST_DURATION);
            }
        }

        private static void requireNotNegative(String property, Duration duration) {
            if (duration.isNegative()) {
                throw new InvalidSettingException(property, duration, "must not be negative");
            }
        }
    }

    /**
     * A setting that breaks a rule of {@link Builder#build()}: which setting by its property name,
     * the value it had, and the rule, so that a framework can report it against its own property
     * names (the Boot starter's {@code pivot.pool.pools.<name>.max-size}) without reading the
     * message. The message stays readable on its own: a rule of one setting ends with its value,
     * {@code max-size must be at least 1, was 0}; a rule between two settings names both values up
     * front, {@code min-idle (5) must not exceed max-size (4)}.
     *
     * <p>It is an {@link IllegalArgumentException}, so code that catches that keeps working. Only the
     * settings throw it: {@link Pool#setMaxSize(int)} checks a run-time argument and throws a plain
     * {@link IllegalArgumentException}.
     */
    public static final class InvalidSettingException extends IllegalArgumentException {

        private static final long serialVersionUID = 1L;

        private final String property;

        /** Every value is an Integer or a Duration: the exception stays whole when it is serialized. */
        private final Serializable value;

        private final String rule;

        private final @Nullable String relatedProperty;

        InvalidSettingException(String property, Serializable value, String rule) {
            this(property, value, rule, null);
        }

        InvalidSettingException(String property, Serializable value, String rule, @Nullable String relatedProperty) {
            super((relatedProperty != null) ? property + " (" + value + ") " + rule
                    : property + " " + rule + ", was " + value);
            this.property = property;
            this.value = value;
            this.rule = rule;
            this.relatedProperty = relatedProperty;
        }

        /** The setting's property name as a Boot user writes it, such as {@code min-idle}. */
        public String property() {
            return this.property;
        }

        /** The value that breaks the rule: an {@link Integer} or a {@link Duration}. */
        public Object value() {
            return this.value;
        }

        /** The rule, such as {@code must not exceed max-size (4)} or {@code must be at least 1}. */
        public String rule() {
            return this.rule;
        }

        /**
         * The other setting the rule compares with (such as {@code max-size} for min-idle), or
         * {@code null} for a rule of this setting alone: changing either one fixes it.
         */
        public @Nullable String relatedProperty() {
            return this.relatedProperty;
        }
    }
}
