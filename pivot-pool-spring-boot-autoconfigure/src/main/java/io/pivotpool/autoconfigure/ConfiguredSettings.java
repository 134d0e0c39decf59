package io.pivotpool.autoconfigure;

import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.function.Consumer;

import io.pivotpool.autoconfigure.PivotPoolProperties.PoolProperties;
import io.pivotpool.distributed.DistributedSettings;
import io.pivotpool.distributed.GlobalCapacity;
import io.pivotpool.mode.HighPerformanceMode.Profile;
import io.pivotpool.pool.PoolSettings;

import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;

/**
 * Turns the bound properties into core settings: the profile's defaults, overridden by every
 * property that is set. The rules themselves live in one place, the core builders; this class
 * only translates a broken rule into an {@link InvalidPropertyException} (Boot's
 * {@link InvalidConfigurationPropertyValueException} with a fix), so that start-up fails with the
 * full property name, its value, where it came from and what to change.
 *
 * <p>The core reports a broken rule as a typed exception that carries the setting's property name
 * as it is written here, its value, the rule and the other setting a two-setting rule compares
 * with: {@link PoolSettings.InvalidSettingException} for a pool,
 * {@link DistributedSettings.InvalidSettingException} for {@link DistributedSettings} and a pool's
 * {@link GlobalCapacity}. This class only adds the prefix ({@code pivot.pool.pools.<name>.} or
 * {@code distributed.}) and the fix; it never reads the message.
 */
final class ConfiguredSettings {

    private ConfiguredSettings() {
    }

    /**
     * The settings of pool {@code name}: the profile's, overridden by {@code properties} (which may
     * be {@code null} when the pool has no entry).
     *
     * @throws InvalidPropertyException naming the first broken rule
     */
    static PoolSettings pool(String name, @Nullable PoolProperties properties, Profile profile) {
        PoolSettings defaults = profile.poolSettings();
        if (properties == null) {
            return defaults;
        }
        Set<String> set = new HashSet<>();
        PoolSettings.Builder builder = defaults.toBuilder();
        apply(set, "min-idle", properties.getMinIdle(), builder::minIdle);
        apply(set, "max-size", properties.getMaxSize(), builder::maxSize);
        if (properties.getMaxSize() != null && properties.getEmergencyLimit() == null) {
            // The profile's emergency limit was sized for the profile's max-size; a new max-size
            // gets the rule's own default (twice max-size) rather than a ceiling below it.
            builder.emergencyLimit(0);
        }
        apply(set, "overflow", properties.getOverflow(), builder::overflow);
        apply(set, "emergency-limit", properties.getEmergencyLimit(), builder::emergencyLimit);
        apply(set, "borrow-timeout", properties.getBorrowTimeout(), builder::borrowTimeout);
        apply(set, "idle-timeout", properties.getIdleTimeout(), builder::idleTimeout);
        apply(set, "max-lifetime", properties.getMaxLifetime(), builder::maxLifetime);
        apply(set, "check-lifetime-on-borrow", properties.getCheckLifetimeOnBorrow(), builder::checkLifetimeOnBorrow);
        apply(set, "leak-detection-threshold", properties.getLeakDetectionThreshold(),
                builder::leakDetectionThreshold);
        apply(set, "housekeeping-interval", properties.getHousekeepingInterval(), builder::housekeepingInterval);
        capacity(name, properties);
        try {
            return builder.build();
        }
        catch (PoolSettings.InvalidSettingException ex) {
            throw invalid(poolPrefix(name), ex.property(), ex.value(), set, ex.getMessage(), ex.relatedProperty(),
                    profile);
        }
    }

    /**
     * The pool's cluster-wide cap, or {@code null} when it has none.
     *
     * @throws InvalidPropertyException naming the first broken rule
     */
    static @Nullable GlobalCapacity capacity(String name, @Nullable PoolProperties properties) {
        if (properties == null) {
            return null;
        }
        Integer globalMaxSize = properties.getGlobalMaxSize();
        Integer partitionSize = properties.getPartitionSize();
        if (globalMaxSize == null) {
            if (partitionSize != null) {
                throw new InvalidPropertyException(poolPrefix(name) + "partition-size", partitionSize,
                        "partition-size applies only to a pool with a global-max-size",
                        "Set " + poolPrefix(name) + "global-max-size (the cap for all instances together) or remove "
                                + poolPrefix(name) + "partition-size.");
            }
            return null;
        }
        try {
            return (partitionSize != null) ? new GlobalCapacity(globalMaxSize, partitionSize)
                    : GlobalCapacity.of(globalMaxSize);
        }
        catch (DistributedSettings.InvalidSettingException ex) {
            String property = poolPrefix(name) + ex.property();
            // Neither has a profile default, so invalid()'s note on the profile does not apply; each fix
            // says instead what the property's values mean.
            String fix = ex.property().equals("global-max-size")
                    ? "Set " + property + " to 1 or more, or remove it for a pool without a cluster-wide cap."
                    : "Set " + property + " between 0 (a strict cap) and global-max-size (" + globalMaxSize
                            + "), or remove it to keep the last grant.";
            throw new InvalidPropertyException(property, ex.value(), ex.getMessage(), fix);
        }
    }

    /**
     * The coordination settings: the profile's timing, overridden by {@code properties}.
     *
     * @throws InvalidPropertyException naming the first broken rule
     */
    static DistributedSettings distributed(DistributedProperties properties, Profile profile) {
        Set<String> set = new HashSet<>();
        DistributedSettings.Builder builder = profile.distributedSettings().toBuilder();
        builder.enabled(properties.isEnabled());
        builder.leaderElection(properties.isLeaderElection());
        builder.failFast(properties.isFailFast());
        apply(set, "coordination", requireText("distributed.coordination", properties.getCoordination()),
                builder::coordination);
        apply(set, "namespace", requireText("distributed.namespace", properties.getNamespace()), builder::namespace);
        apply(set, "sync-interval", properties.getSyncInterval(), builder::syncInterval);
        apply(set, "leader-ttl", properties.getLeaderTtl(), builder::leaderTtl);
        apply(set, "rebalance-interval", properties.getRebalanceInterval(), builder::rebalanceInterval);
        apply(set, "instance-ttl", properties.getInstanceTtl(), builder::instanceTtl);
        try {
            return builder.build();
        }
        catch (DistributedSettings.InvalidSettingException ex) {
            throw invalid("distributed.", ex.property(), ex.value(), set, ex.getMessage(), ex.relatedProperty(),
                    profile);
        }
    }

    private static String requireText(String property, String value) {
        if (value == null || value.isBlank()) {
            throw new InvalidPropertyException(property, value, "must not be empty",
                    "Set " + property + " to a value, or remove it to use its default.");
        }
        return value;
    }

    /** Sets {@code property} when it was given, and records in {@code set} that it was. */
    private static <V> void apply(Set<String> set, String property, @Nullable V value, Consumer<V> setter) {
        if (value != null) {
            set.add(property);
            setter.accept(value);
        }
    }

    private static String poolPrefix(String name) {
        return "pivot.pool.pools." + name + ".";
    }

    /**
     * Names the property the core rule names. When that property was not set here its value came
     * from the profile, which the reason then says, so that a user who only changed max-size
     * learns why min-idle is suddenly too large.
     *
     * @param set the properties that were set, rather than taken from the profile
     * @param related the other property the rule compares with, or {@code null}
     */
    private static InvalidPropertyException invalid(String prefix, String property, @Nullable Object value, Set<String> set,
            @Nullable String reason, @Nullable String related, Profile profile) {
        String profileName = profile.name().toLowerCase(Locale.ROOT);
        String alsoRelated = (related != null) ? " (or " + prefix + related + ")" : "";
        String fix;
        if (set.contains(property)) {
            fix = "Change " + prefix + property + alsoRelated + " so that " + property + " keeps the rule above.";
        }
        else {
            reason = reason + " (" + property + " is not set, so it comes from pivot.pool.profile=" + profileName + ")";
            fix = "Set " + prefix + property + alsoRelated + " so that " + property + " keeps the rule above, or "
                    + "choose another pivot.pool.profile than " + profileName + ".";
        }
        return new InvalidPropertyException(prefix + property, value, reason, fix);
    }
}
