package io.pivotpool.distributed;

/**
 * A pool's share of a cluster-wide cap: how many objects all instances together may hold, and how
 * many this instance keeps when it cannot reach the coordinator.
 *
 * @param globalMaxSize the cap for all instances together ({@code global-max-size}), at least 1
 * @param partitionSize the most this instance keeps while it cannot renew its grant
 *     ({@code partition-size}): it keeps {@code min(partitionSize, its last grant)}. The default,
 *     {@code globalMaxSize}, keeps the last grant; {@code 0} keeps the cap strict at the price of
 *     serving nothing until the coordinator answers again.
 */
public record GlobalCapacity(int globalMaxSize, int partitionSize) {

    /**
     * @throws DistributedSettings.InvalidSettingException naming the broken rule, its property and value
     */
    public GlobalCapacity {
        if (globalMaxSize < 1) {
            throw new DistributedSettings.InvalidSettingException("global-max-size", globalMaxSize,
                    "must be at least 1");
        }
        if (partitionSize < 0 || partitionSize > globalMaxSize) {
            throw new DistributedSettings.InvalidSettingException("partition-size", partitionSize,
                    "must be between 0 and global-max-size (" + globalMaxSize + ")", "global-max-size");
        }
    }

    /** A cap whose instances keep their last grant while they cannot reach the coordinator. */
    public static GlobalCapacity of(int globalMaxSize) {
        return new GlobalCapacity(globalMaxSize, globalMaxSize);
    }
}
