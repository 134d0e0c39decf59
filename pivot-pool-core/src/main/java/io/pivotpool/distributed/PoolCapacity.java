package io.pivotpool.distributed;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * One capped pool as this instance sees it.
 *
 * @param globalMaxSize the cap for all instances together
 * @param partitionSize the most this instance keeps while it cannot renew its grant
 * @param grant the objects the coordinator granted this instance (0 before the first grant)
 * @param target what the leader last asked this instance to hold, or -1 before any target
 * @param demand objects used or waited for at the recent peak, as reported to the leader
 * @param limit the pool's size limit now: the grant, lower while shrinking or partitioned
 * @param partitioned whether this instance runs on its partition size, unable to renew its grant
 * @param distribution on the leader, the targets it last computed by instance id; empty elsewhere
 */
public record PoolCapacity(int globalMaxSize, int partitionSize, int grant, int target, int demand, int limit,
        boolean partitioned, Map<String, Integer> distribution) {

    public PoolCapacity {
        distribution = Collections.unmodifiableMap(new TreeMap<>(distribution));
    }
}
