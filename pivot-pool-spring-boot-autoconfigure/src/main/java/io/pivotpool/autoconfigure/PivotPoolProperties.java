package io.pivotpool.autoconfigure;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import io.pivotpool.mode.HighPerformanceMode;
import io.pivotpool.pool.Overflow;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Pools and their profile, under {@code pivot.pool.*}. Each entry of {@code pools} overrides the
 * profile's defaults for the pool of that name; a setting left unset keeps the profile's value.
 * The rules are checked at start-up, and a broken one stops the application with a message naming
 * the property.
 */
@ConfigurationProperties("pivot.pool")
public class PivotPoolProperties {

    /** Whether to create a pool for every PoolSpec bean and run coordination. */
    private boolean enabled = true;

    /** Profile whose defaults apply to every pool and to coordination: standard, high, extreme or test. */
    private HighPerformanceMode.Profile profile = HighPerformanceMode.Profile.STANDARD;

    /**
     * Settings of each pool by its name; every name must match a PoolSpec bean's pool name, and an
     * unknown key stops start-up.
     */
    private final Map<String, PoolProperties> pools = new LinkedHashMap<>();

    /** Micrometer meters of the pools and the coordinator. */
    private final Metrics metrics = new Metrics();

    private final Health health = new Health();

    public boolean isEnabled() {
        return this.enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public HighPerformanceMode.Profile getProfile() {
        return this.profile;
    }

    public void setProfile(HighPerformanceMode.Profile profile) {
        this.profile = profile;
    }

    public Map<String, PoolProperties> getPools() {
        return this.pools;
    }

    public Health getHealth() {
        return this.health;
    }

    public Metrics getMetrics() {
        return this.metrics;
    }

    @Override
    public String toString() {
        return "PivotPoolProperties[enabled=" + this.enabled + ", profile=" + this.profile + ", pools=" + this.pools
                + ", metrics=" + this.metrics + "]";
    }

    /** One pool's settings; unset ones come from the profile. */
    public static class PoolProperties {

        /** Objects created at start and kept ready, 0 to max-size. Default: the profile's (standard: 0). */
        private @Nullable Integer minIdle;

        /** Objects this instance may hold, at least 1. Default: the profile's (standard: 10). */
        private @Nullable Integer maxSize;

        /** When exhausted: wait, elastic, fallback or fail. Default: the profile's (standard: wait). */
        private @Nullable Overflow overflow;

        /** Elastic ceiling, at least max-size. Default: the profile's, or twice max-size if max-size is set. */
        private @Nullable Integer emergencyLimit;

        /** How long a borrow waits when exhausted; not negative. Default: the profile's (standard: 5s). */
        private @Nullable Duration borrowTimeout;

        /** Idle time that closes objects above min-idle; 0 keeps them. Default: the profile's (standard: 10m). */
        private @Nullable Duration idleTimeout;

        /** Age at which an object is retired; 0 keeps it forever. Default: the profile's (standard: 0). */
        private @Nullable Duration maxLifetime;

        /** Whether each borrow checks max-lifetime (a clock read). Default: the profile's (standard: false). */
        private @Nullable Boolean checkLifetimeOnBorrow;

        /** Lease age that logs the borrower's stack; 0 is off. Default: the profile's (standard: 0). */
        private @Nullable Duration leakDetectionThreshold;

        /** How often idle objects are evicted and min-idle restored. Default: the profile's (standard: 5s). */
        private @Nullable Duration housekeepingInterval;

        /**
         * Cluster-wide cap: objects all instances together may hold, shared by the leader by demand;
         * needs overflow wait or fail. Default: none (no cap).
         */
        private @Nullable Integer globalMaxSize;

        /**
         * Objects this instance keeps, at most, while it cannot renew its share of global-max-size
         * (0 keeps the cap strict). Default: global-max-size, i.e. it keeps its last grant.
         */
        private @Nullable Integer partitionSize;

        public @Nullable Integer getMinIdle() {
            return this.minIdle;
        }

        public void setMinIdle(@Nullable Integer minIdle) {
            this.minIdle = minIdle;
        }

        public @Nullable Integer getMaxSize() {
            return this.maxSize;
        }

        public void setMaxSize(@Nullable Integer maxSize) {
            this.maxSize = maxSize;
        }

        public @Nullable Overflow getOverflow() {
            return this.overflow;
        }

        public void setOverflow(@Nullable Overflow overflow) {
            this.overflow = overflow;
        }

        public @Nullable Integer getEmergencyLimit() {
            return this.emergencyLimit;
        }

        public void setEmergencyLimit(@Nullable Integer emergencyLimit) {
            this.emergencyLimit = emergencyLimit;
        }

        public @Nullable Duration getBorrowTimeout() {
            return this.borrowTimeout;
        }

        public void setBorrowTimeout(@Nullable Duration borrowTimeout) {
            this.borrowTimeout = borrowTimeout;
        }

        public @Nullable Duration getIdleTimeout() {
            return this.idleTimeout;
        }

        public void setIdleTimeout(@Nullable Duration idleTimeout) {
            this.idleTimeout = idleTimeout;
        }

        public @Nullable Duration getMaxLifetime() {
            return this.maxLifetime;
        }

        public void setMaxLifetime(@Nullable Duration maxLifetime) {
            this.maxLifetime = maxLifetime;
        }

        public @Nullable Boolean getCheckLifetimeOnBorrow() {
            return this.checkLifetimeOnBorrow;
        }

        public void setCheckLifetimeOnBorrow(@Nullable Boolean checkLifetimeOnBorrow) {
            this.checkLifetimeOnBorrow = checkLifetimeOnBorrow;
        }

        public @Nullable Duration getLeakDetectionThreshold() {
            return this.leakDetectionThreshold;
        }

        public void setLeakDetectionThreshold(@Nullable Duration leakDetectionThreshold) {
            this.leakDetectionThreshold = leakDetectionThreshold;
        }

        public @Nullable Duration getHousekeepingInterval() {
            return this.housekeepingInterval;
        }

        public void setHousekeepingInterval(@Nullable Duration housekeepingInterval) {
            this.housekeepingInterval = housekeepingInterval;
        }

        public @Nullable Integer getGlobalMaxSize() {
            return this.globalMaxSize;
        }

        public void setGlobalMaxSize(@Nullable Integer globalMaxSize) {
            this.globalMaxSize = globalMaxSize;
        }

        public @Nullable Integer getPartitionSize() {
            return this.partitionSize;
        }

        public void setPartitionSize(@Nullable Integer partitionSize) {
            this.partitionSize = partitionSize;
        }

        @Override
        public String toString() {
            return "PoolProperties[min-idle=" + this.minIdle + ", max-size=" + this.maxSize + ", overflow="
                    + this.overflow + ", emergency-limit=" + this.emergencyLimit + ", borrow-timeout="
                    + this.borrowTimeout + ", idle-timeout=" + this.idleTimeout + ", max-lifetime=" + this.maxLifetime
                    + ", check-lifetime-on-borrow=" + this.checkLifetimeOnBorrow + ", leak-detection-threshold="
                    + this.leakDetectionThreshold + ", housekeeping-interval=" + this.housekeepingInterval
                    + ", global-max-size=" + this.globalMaxSize + ", partition-size=" + this.partitionSize + "]";
        }
    }

    /** Switches for the Micrometer meters. */
    public static class Metrics {

        /** Whether to publish pivot.pool.* and pivot.coordinator.* meters when Micrometer is present. */
        private boolean enabled = true;

        public boolean isEnabled() {
            return this.enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        @Override
        public String toString() {
            return "Metrics[enabled=" + this.enabled + "]";
        }
    }

    /** How the pivotPool health indicator reports coordination problems. */
    public static class Health {

        /**
         * Whether the pivotPool health indicator reports DOWN when the coordination backend stops
         * answering. Off by default: pools keep serving borrowers through an outage, so it must not
         * take every instance out of a load balancer; the indicator then stays UP with the error as
         * a detail.
         */
        private boolean downWhenDisconnected = false;

        public boolean isDownWhenDisconnected() {
            return this.downWhenDisconnected;
        }

        public void setDownWhenDisconnected(boolean downWhenDisconnected) {
            this.downWhenDisconnected = downWhenDisconnected;
        }

        @Override
        public String toString() {
            return "Health[down-when-disconnected=" + this.downWhenDisconnected + "]";
        }
    }
}
