package io.pivotpool.pool;

import java.time.Duration;

/** No object was available within the timeout (or at once, for {@link Overflow#FAIL}). */
public class PoolExhaustedException extends PoolException {

    private static final long serialVersionUID = 1L;

    private final int size;

    private final int maxSize;

    private final Duration waited;

    public PoolExhaustedException(String poolName, int size, int maxSize, Duration waited) {
        super(poolName, "exhausted: all " + size + " objects borrowed (max-size " + maxSize + "), waited "
                + waited.toMillis() + " ms", null);
        this.size = size;
        this.maxSize = maxSize;
        this.waited = waited;
    }

    public int getSize() {
        return this.size;
    }

    public int getMaxSize() {
        return this.maxSize;
    }

    public Duration getWaited() {
        return this.waited;
    }
}
