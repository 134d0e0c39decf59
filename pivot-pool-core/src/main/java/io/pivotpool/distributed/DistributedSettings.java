package io.pivotpool.distributed;

import java.time.Duration;
import java.util.Objects;

import org.jspecify.annotations.Nullable;

/**
 * How an instance takes part in cluster-wide coordination: the {@code distributed.*} settings.
 * Immutable; start from {@link #builder()} or from a copy with {@link #toBuilder()}. The
 * rules are checked by {@link Builder#build()}, which throws an {@link InvalidSettingException}
 * naming the setting by its property name ({@code sync-interval}, ...), its value and the rule.
 */
public final class DistributedSettings {

    /** The shortest sync-interval (and lease): shorter ones would only hammer the backend. */
    public static final Duration SHORTEST_SYNC_INTERVAL = Duration.ofMillis(10);

    /** The longest sync-interval: an instance silent for longer is hardly taking part. */
    public static final Duration LONGEST_SYNC_INTERVAL = Duration.ofHours(1);

    /** The longest leader-ttl, instance-ttl and rebalance-interval, as the backends' leases allow. */
    public static final Duration LONGEST_TTL = Duration.ofDays(1);

    /** The name of {@link #coordination()} that asks for no backend: single-instance mode. */
    public static final String NO_COORDINATION = "none";

    /** The defaults: disabled, {@code none}, namespace {@code pivot:pools}, sync every 2 s, leader TTL 10 s. */
    public static final DistributedSettings DEFAULTS = builder().build();

    private final boolean enabled;

    private final String coordination;

    private final String namespace;

    private final Duration syncInterval;

    private final boolean leaderElection;

    private final Duration leaderTtl;

    private final Duration rebalanceInterval;

    private final Duration instanceTtl;

    /** Whether instance-ttl was set explicitly rather than derived from sync-interval. */
    private final boolean instanceTtlSet;

    private final boolean failFast;

    private DistributedSettings(Builder builder) {
        this.enabled = builder.enabled;
        this.coordination = builder.coordination;
        this.namespace = builder.namespace;
        this.syncInterval = builder.syncInterval;
        this.leaderElection = builder.leaderElection;
        this.leaderTtl = builder.leaderTtl;
        this.rebalanceInterval = builder.rebalanceInterval;
        Duration instanceTtl = builder.instanceTtl;
        this.instanceTtlSet = instanceTtl != null;
        this.instanceTtl = (instanceTtl != null) ? instanceTtl : builder.syncInterval.multipliedBy(3);
        this.failFast = builder.failFast;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding these settings; instance-ttl stays derived from sync-interval unless it was set. */
    public Builder toBuilder() {
        Builder builder = new Builder();
        builder.enabled = this.enabled;
        builder.coordination = this.coordination;
        builder.namespace = this.namespace;
        builder.syncInterval = this.syncInterval;
        builder.leaderElection = this.leaderElection;
        builder.leaderTtl = this.leaderTtl;
        builder.rebalanceInterval = this.rebalanceInterval;
        builder.instanceTtl = this.instanceTtlSet ? this.instanceTtl : null;
        builder.failFast = this.failFast;
        return builder;
    }

    /** Whether coordination is on at all; when off the instance runs alone on the no-op coordinator. */
    public boolean enabled() {
        return this.enabled;
    }

    /** The requested backend by name: {@code none}, {@code redis} or a custom extension's name. */
    public String coordination() {
        return this.coordination;
    }

    /** The prefix of every key the coordinator writes, so that several applications can share one server. */
    public String namespace() {
        return this.namespace;
    }

    /** How often the instance heartbeats, refreshes the members and renews or seeks leadership. */
    public Duration syncInterval() {
        return this.syncInterval;
    }

    /** Whether the instances elect a leader. */
    public boolean leaderElection() {
        return this.leaderElection;
    }

    /** How long a leader's term lasts without renewal; longer than sync-interval. */
    public Duration leaderTtl() {
        return this.leaderTtl;
    }

    /** How often the leader redistributes the pools' global capacity. */
    public Duration rebalanceInterval() {
        return this.rebalanceInterval;
    }

    /** How long an instance stays a member without a heartbeat; three sync intervals unless set. */
    public Duration instanceTtl() {
        return this.instanceTtl;
    }

    /** Whether a missing or failing backend stops start-up instead of falling back to the no-op coordinator. */
    public boolean failFast() {
        return this.failFast;
    }

    @Override
    public String toString() {
        return "DistributedSettings[enabled=" + this.enabled + ", coordination=" + this.coordination
                + ", namespace=" + this.namespace + ", sync-interval=" + this.syncInterval + ", leader-election="
                + this.leaderElection + ", leader-ttl=" + this.leaderTtl + ", rebalance-interval="
                + this.rebalanceInterval + ", instance-ttl=" + this.instanceTtl + ", fail-fast=" + this.failFast
                + "]";
    }

    /** Collects settings; {@link #build()} checks them. */
    public static final class Builder {

        private boolean enabled = false;

        private String coordination = NO_COORDINATION;

        private String namespace = "pivot:pools";

        private Duration syncInterval = Duration.ofSeconds(2);

        private boolean leaderElection = true;

        private Duration leaderTtl = Duration.ofSeconds(10);

        private Duration rebalanceInterval = Duration.ofSeconds(10);

        /** {@code null}: three sync intervals. */
        private @Nullable Duration instanceTtl;

        private boolean failFast = false;

        private Builder() {
        }

        public Builder enabled(boolean enabled) {
            this.enabled = enabled;
            return this;
        }

        public Builder coordination(String coordination) {
            this.coordination = Objects.requireNonNull(coordination, "coordination must not be null");
            return this;
        }

        public Builder namespace(String namespace) {
            this.namespace = Objects.requireNonNull(namespace, "namespace must not be null");
            return this;
        }

        public Builder syncInterval(Duration syncInterval) {
            this.syncInterval = Objects.requireNonNull(syncInterval, "sync-interval must not be null");
            return this;
        }

        public Builder leaderElection(boolean leaderElection) {
            this.leaderElection = leaderElection;
            return this;
        }

        public Builder leaderTtl(Duration leaderTtl) {
            this.leaderTtl = Objects.requireNonNull(leaderTtl, "leader-ttl must not be null");
            return this;
        }

        public Builder rebalanceInterval(Duration rebalanceInterval) {
            this.rebalanceInterval = Objects.requireNonNull(rebalanceInterval, "rebalance-interval must not be null");
            return this;
        }

        /** {@code null} derives it again from sync-interval (three intervals). */
        public Builder instanceTtl(Duration instanceTtl) {
            this.instanceTtl = instanceTtl;
            return this;
        }

        public Builder failFast(boolean failFast) {
            this.failFast = failFast;
            return this;
        }

        /**
         * Checks the rules and builds the settings.
         *
         * @throws InvalidSettingException naming the first broken rule, its property and value
         */
        public DistributedSettings build() {
            if (!this.coordination.matches("[A-Za-z0-9._-]+")) {
                throw new InvalidSettingException("coordination", this.coordination,
                        "must be a backend name of letters, digits, '.', '-' or '_'");
            }
            if (!this.namespace.matches("[A-Za-z0-9:._-]{1,128}")) {
                throw new InvalidSettingException("namespace", this.namespace,
                        "must be 1 to 128 letters, digits, ':', '.', '-' or '_'");
            }
            requireBetween("sync-interval", this.syncInterval, SHORTEST_SYNC_INTERVAL, LONGEST_SYNC_INTERVAL);
            requireBetween("leader-ttl", this.leaderTtl, SHORTEST_SYNC_INTERVAL, LONGEST_TTL);
            requireLongerThanSyncInterval("leader-ttl", this.leaderTtl);
            requireBetween("rebalance-interval", this.rebalanceInterval, SHORTEST_SYNC_INTERVAL, LONGEST_TTL);
            if (this.instanceTtl != null) {
                requireBetween("instance-ttl", this.instanceTtl, SHORTEST_SYNC_INTERVAL, LONGEST_TTL);
                requireLongerThanSyncInterval("instance-ttl", this.instanceTtl);
            }

            return new DistributedSettings(this);
        }

        /**
         * A sane range, so that a typo can neither hammer the backend (1 ns) nor overflow a
         * deadline (centuries): every lease the backends keep lives at most a day.
         */
        private static void requireBetween(String property, Duration duration, Duration shortest, Duration longest) {
            if (duration.isNegative() || duration.isZero()) {
                throw new InvalidSettingException(property, duration, "must be positive");
            }
            if (duration.compareTo(shortest) < 0 || duration.compareTo(longest) > 0) {
                throw new InvalidSettingException(property, duration,
                        "must be between " + shortest + " and " + longest);
            }
        }

        private void requireLongerThanSyncInterval(String property, Duration duration) {
            if (duration.compareTo(this.syncInterval) <= 0) {
                throw new InvalidSettingException(property, duration,
                        "must be longer than sync-interval (" + this.syncInterval + ")", "sync-interval");
            }
        }
    }

    /**
     * A setting that breaks a rule of {@link Builder#build()} or of a pool's {@link GlobalCapacity}
     * ({@code global-max-size}, {@code partition-size}): which setting by its property name, the
     * value it had, and the rule, so that a framework can report it against its own property names
     * without reading the message. The message stays readable on its own:
     * {@code leader-ttl (PT5S) must be longer than sync-interval (PT5S)}. Backends' settings
     * builders throw it too (Redis: {@code port}, {@code timeout}, ...), named as their own
     * properties are under {@code distributed.<backend>.}, so that the framework maps names and
     * never repeats a rule.
     */
    public static final class InvalidSettingException extends IllegalArgumentException {

        private static final long serialVersionUID = 1L;

        private final String property;

        private final transient @Nullable Object value;

        private final String rule;

        private final @Nullable String relatedProperty;

        public InvalidSettingException(String property, @Nullable Object value, String rule) {
            this(property, value, rule, null);
        }

        public InvalidSettingException(String property, @Nullable Object value, String rule,
                @Nullable String relatedProperty) {
            super(message(property, value, rule, relatedProperty));
            this.property = property;
            this.value = value;
            this.rule = rule;
            this.relatedProperty = relatedProperty;
        }

        /** A rule between two settings names both values up front; a rule of one setting ends with it. */
        private static String message(String property, @Nullable Object value, String rule,
                @Nullable String relatedProperty) {
            if (relatedProperty != null) {
                return property + " (" + value + ") " + rule;
            }
            return property + " " + rule + ", was " + ((value instanceof String) ? "'" + value + "'" : value);
        }

        /** The setting's property name, such as {@code leader-ttl}. */
        public String property() {
            return this.property;
        }

        /** The value that breaks the rule ({@code null} when it is missing). */
        public @Nullable Object value() {
            return this.value;
        }

        /** The rule, such as {@code must be longer than sync-interval (PT2S)}. */
        public String rule() {
            return this.rule;
        }

        /**
         * The other setting the rule compares with (such as {@code sync-interval}), or
         * {@code null} for a rule of this setting alone: changing either one fixes it.
         */
        public @Nullable String relatedProperty() {
            return this.relatedProperty;
        }
    }
}
