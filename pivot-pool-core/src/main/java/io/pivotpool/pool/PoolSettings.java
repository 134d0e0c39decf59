package io.pivotpool.pool;

import java.time.Duration;
import java.util.Objects;

/**
 * How a pool is sized and how long its objects live. Immutable; start from {@link #builder()} or
 * from a copy with {@link #toBuilder()}. The rules are checked by {@link Builder#build()}, whose
 * messages name the setting by its property name ({@code max-size}, ...).
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
         * @throws IllegalArgumentException naming the first broken rule by its property name
         */
        public PoolSettings build() {
            require(this.maxSize >= 1, "max-size must be at least 1, was " + this.maxSize);
            require(this.maxSize <= LARGEST_MAX_SIZE,
                    "max-size must be at most " + LARGEST_MAX_SIZE + ", was " + this.maxSize);
            require(this.minIdle >= 0, "min-idle must not be negative, was " + this.minIdle);
            require(this.minIdle <= this.maxSize,
                    "min-idle (" + this.minIdle + ") must not exceed max-size (" + this.maxSize + ")");
            require(this.emergencyLimit >= 0, "emergency-limit must not be negative, was " + this.emergencyLimit);
            require(this.emergencyLimit == 0 || this.emergencyLimit >= this.maxSize, "emergency-limit ("
                    + this.emergencyLimit + ") must be at least max-size (" + this.maxSize + ")");
            require(this.emergencyLimit <= LARGEST_MAX_SIZE,
                    "emergency-limit must be at most " + LARGEST_MAX_SIZE + ", was " + this.emergencyLimit);
            requireNotNegative(this.borrowTimeout, "borrow-timeout");
            requireNotNegative(this.idleTimeout, "idle-timeout");
            requireNotNegative(this.maxLifetime, "max-lifetime");
            requireNotNegative(this.leakDetectionThreshold, "leak-detection-threshold");
            require(!this.housekeepingInterval.isNegative() && !this.housekeepingInterval.isZero(),
                    "housekeeping-interval must be positive, was " + this.housekeepingInterval);
            requireAtMost(this.borrowTimeout, "borrow-timeout");
            requireAtMost(this.idleTimeout, "idle-timeout");
            requireAtMost(this.maxLifetime, "max-lifetime");
            requireAtMost(this.leakDetectionThreshold, "leak-detection-threshold");
            requireAtMost(this.housekeepingInterval, "housekeeping-interval");
            return new PoolSettings(this);
        }

        /** Far beyond any sane setting, and far below where nanosecond arithmetic overflows (292 years). */
        private static void requireAtMost(Duration duration, String property) {
            require(duration.compareTo(LONGEST_DURATION) <= 0,
                    property + " must be at most " + LONGEST_DURATION + ", was " + duration);
        }

        private static void requireNotNegative(Duration duration, String property) {
            require(!duration.isNegative(), property + " must not be negative, was " + duration);
        }

        private static void require(boolean rule, String message) {
            if (!rule) {
                throw new IllegalArgumentException(message);
            }
        }
    }
}
