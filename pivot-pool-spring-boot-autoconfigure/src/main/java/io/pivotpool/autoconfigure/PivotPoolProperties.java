package io.pivotpool.autoconfigure;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import io.pivotpool.mode.HighPerformanceMode;
import io.pivotpool.pool.Overflow;

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

    /** Performance profile whose defaults apply to every pool and to coordination: standard, high, extreme or test. */
    private HighPerformanceMode.Profile profile = HighPerformanceMode.Profile.STANDARD;

    /** Settings of each pool by its name; every name must match a PoolSpec bean's pool name. */
    private final Map<String, PoolProperties> pools = new LinkedHashMap<>();

    /** Micrometer meters of the pools and the coordinator. */
    private final Metrics metrics = new Metrics();

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

        /** Objects created at start and kept ready, 0 to max-size. Default: from the profile (standard: 0). */
        private Integer minIdle;

        /** Objects this instance may hold, at least 1 (its share of global-max-size when coordinated). Default: from the profile (standard: 10). */
        private Integer maxSize;

        /** What a borrow does when the pool is exhausted: wait, elastic, fallback or fail. Default: from the profile (standard: wait). */
        private Overflow overflow;

        /** Ceiling of pooled plus overflow objects under elastic overflow, at least max-size. Default: the profile's, or twice max-size when max-size is set. */
        private Integer emergencyLimit;

        /** How long a borrow waits for an object when the pool is exhausted; not negative. Default: from the profile (standard: 5s). */
        private Duration borrowTimeout;

        /** How long an object above min-idle may stay idle before it is destroyed; 0 keeps it. Default: from the profile (standard: 10m). */
        private Duration idleTimeout;

        /** How long an object may live before it is retired; 0 keeps it forever. Default: from the profile (standard: 0). */
        private Duration maxLifetime;

        /** Whether each borrow also checks max-lifetime (one clock read) instead of leaving it to the housekeeper. Default: from the profile (standard: false). */
        private Boolean checkLifetimeOnBorrow;

        /** A lease held longer than this logs a warning with the borrower's stack; 0 turns it off. Default: from the profile (standard: 0). */
        private Duration leakDetectionThreshold;

        /** How often the housekeeper evicts, replenishes and looks for leaks; positive. Default: from the profile (standard: 5s). */
        private Duration housekeepingInterval;

        /** Cluster-wide cap shared by all instances when coordinated, at least 1; unset caps each instance at its own max-size. */
        private Integer globalMaxSize;

        public Integer getMinIdle() {
            return this.minIdle;
        }

        public void setMinIdle(Integer minIdle) {
            this.minIdle = minIdle;
        }

        public Integer getMaxSize() {
            return this.maxSize;
        }

        public void setMaxSize(Integer maxSize) {
            this.maxSize = maxSize;
        }

        public Overflow getOverflow() {
            return this.overflow;
        }

        public void setOverflow(Overflow overflow) {
            this.overflow = overflow;
        }

        public Integer getEmergencyLimit() {
            return this.emergencyLimit;
        }

        public void setEmergencyLimit(Integer emergencyLimit) {
            this.emergencyLimit = emergencyLimit;
        }

        public Duration getBorrowTimeout() {
            return this.borrowTimeout;
        }

        public void setBorrowTimeout(Duration borrowTimeout) {
            this.borrowTimeout = borrowTimeout;
        }

        public Duration getIdleTimeout() {
            return this.idleTimeout;
        }

        public void setIdleTimeout(Duration idleTimeout) {
            this.idleTimeout = idleTimeout;
        }

        public Duration getMaxLifetime() {
            return this.maxLifetime;
        }

        public void setMaxLifetime(Duration maxLifetime) {
            this.maxLifetime = maxLifetime;
        }

        public Boolean getCheckLifetimeOnBorrow() {
            return this.checkLifetimeOnBorrow;
        }

        public void setCheckLifetimeOnBorrow(Boolean checkLifetimeOnBorrow) {
            this.checkLifetimeOnBorrow = checkLifetimeOnBorrow;
        }

        public Duration getLeakDetectionThreshold() {
            return this.leakDetectionThreshold;
        }

        public void setLeakDetectionThreshold(Duration leakDetectionThreshold) {
            this.leakDetectionThreshold = leakDetectionThreshold;
        }

        public Duration getHousekeepingInterval() {
            return this.housekeepingInterval;
        }

        public void setHousekeepingInterval(Duration housekeepingInterval) {
            this.housekeepingInterval = housekeepingInterval;
        }

        public Integer getGlobalMaxSize() {
            return this.globalMaxSize;
        }

        public void setGlobalMaxSize(Integer globalMaxSize) {
            this.globalMaxSize = globalMaxSize;
        }

        @Override
        public String toString() {
            return "PoolProperties[min-idle=" + this.minIdle + ", max-size=" + this.maxSize + ", overflow="
                    + this.overflow + ", emergency-limit=" + this.emergencyLimit + ", borrow-timeout="
                    + this.borrowTimeout + ", idle-timeout=" + this.idleTimeout + ", max-lifetime=" + this.maxLifetime
                    + ", check-lifetime-on-borrow=" + this.checkLifetimeOnBorrow + ", leak-detection-threshold="
                    + this.leakDetectionThreshold + ", housekeeping-interval=" + this.housekeepingInterval
                    + ", global-max-size=" + this.globalMaxSize + "]";
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
}
