package io.pivotpool.coordinator.support;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Decides when a bad key read from a backend is worth a warning: at most once per key every
 * interval (the rest at debug level), so that a key that stays bad does not flood the log while a
 * key corrupted again later is reported again. Remembers a bounded number of keys, so that a
 * hostile tenant planting endless bad keys cannot grow the memory it takes. Thread-safe.
 */
public final class GarbageWarnings {

    /** How often one bad key is warned about at most, unless configured otherwise. */
    public static final Duration DEFAULT_INTERVAL = Duration.ofMinutes(5);

    private static final int MAX_TRACKED_KEYS = 1024;

    private final Map<String, Long> warnedAt = new ConcurrentHashMap<>();

    private volatile long intervalNanos = DEFAULT_INTERVAL.toNanos();

    /** Whether {@code key} is due a warning now; if so, the next one is due an interval later. */
    public boolean shouldWarn(String key) {
        long now = System.nanoTime();
        long interval = this.intervalNanos;
        if (this.warnedAt.size() >= MAX_TRACKED_KEYS && !this.warnedAt.containsKey(key)) {
            this.warnedAt.values().removeIf(warned -> now - warned >= interval);
            if (this.warnedAt.size() >= MAX_TRACKED_KEYS) {
                return false;
            }
        }
        boolean[] warn = new boolean[1];
        this.warnedAt.compute(key, (bad, warned) -> {
            if (warned == null || now - warned >= interval) {
                warn[0] = true;
                return now;
            }
            return warned;
        });
        return warn[0];
    }

    /** How often one key is warned about at most. */
    public Duration interval() {
        return Duration.ofNanos(this.intervalNanos);
    }

    /** Changes how often one key is warned about at most (tests use a short one). */
    public void interval(Duration interval) {
        this.intervalNanos = interval.toNanos();
    }
}
