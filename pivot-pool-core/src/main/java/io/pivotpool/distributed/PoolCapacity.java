package io.pivotpool.distributed;

import java.util.AbstractMap;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.jspecify.annotations.Nullable;

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
        distribution = sorted(distribution);
    }

    /**
     * The distribution as this record keeps it: sorted by instance id and unmodifiable. A leader
     * publishes its status several times a round with the same thousand-entry distribution, so one
     * already in this form is kept as it is instead of copied each time.
     */
    static Map<String, Integer> sorted(Map<String, Integer> distribution) {
        if (distribution instanceof SortedDistribution) {
            return distribution;
        }
        if (distribution.isEmpty()) {
            return Map.of();
        }
        return new SortedDistribution(Collections.unmodifiableSortedMap(new TreeMap<>(distribution)));
    }

    /** A sorted copy no one else holds, so it can be shared between records. */
    private static final class SortedDistribution extends AbstractMap<String, Integer> {

        private final Map<String, Integer> entries;

        SortedDistribution(Map<String, Integer> entries) {
            this.entries = entries;
        }

        @Override
        public Set<Entry<String, Integer>> entrySet() {
            return this.entries.entrySet();
        }

        @Override
        public @Nullable Integer get(@Nullable Object key) {
            return this.entries.get(key);
        }

        @Override
        public boolean containsKey(@Nullable Object key) {
            return this.entries.containsKey(key);
        }

        @Override
        public int size() {
            return this.entries.size();
        }
    }
}
