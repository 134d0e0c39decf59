package io.pivotpool.coordinator;

import java.time.Duration;
import java.util.Objects;

/**
 * The argument rules of the {@link Coordinator} SPI, which {@code CoordinatorContract} checks, in
 * one place for every backend (the built-in ones and extensions) to apply before it talks to its
 * server. Each method throws the exception the contract expects, with a message naming the
 * argument.
 */
public final class CoordinatorArguments {

    private CoordinatorArguments() {
    }

    /**
     * A TTL of a registration, lease, grant or value: present and positive.
     *
     * @throws NullPointerException if it is {@code null}
     * @throws IllegalArgumentException if it is zero or negative
     */
    public static Duration requirePositiveTtl(Duration ttl) {
        Objects.requireNonNull(ttl, "ttl must not be null");
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("ttl must be positive, was " + ttl);
        }
        return ttl;
    }

    /**
     * How long a blocking pop waits: present and not negative ({@link Duration#ZERO} does not wait).
     *
     * @throws NullPointerException if it is {@code null}
     * @throws IllegalArgumentException if it is negative
     */
    public static Duration requireWaitTimeout(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout must not be null");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must not be negative, was " + timeout);
        }
        return timeout;
    }

    /**
     * A capacity request: a pool and an instance, and counts that are not negative.
     *
     * @throws NullPointerException if {@code pool} or {@code instanceId} is {@code null}
     * @throws IllegalArgumentException if a count is negative
     */
    public static void requireCapacityRequest(String pool, String instanceId, int requested, int globalMaxSize) {
        Objects.requireNonNull(pool, "pool must not be null");
        Objects.requireNonNull(instanceId, "instanceId must not be null");
        if (requested < 0) {
            throw new IllegalArgumentException("requested must not be negative, was " + requested);
        }
        if (globalMaxSize < 0) {
            throw new IllegalArgumentException("globalMaxSize must not be negative, was " + globalMaxSize);
        }
    }
}
