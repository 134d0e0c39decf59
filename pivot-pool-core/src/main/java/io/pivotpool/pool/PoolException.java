package io.pivotpool.pool;

import org.jspecify.annotations.Nullable;

/** A borrow that failed for a reason other than exhaustion; the message names the pool. */
public class PoolException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String poolName;

    public PoolException(String poolName, String message, @Nullable Throwable cause) {
        super("Pool '" + poolName + "': " + message, cause);
        this.poolName = poolName;
    }

    /** The name of the pool that failed. */
    public String getPoolName() {
        return this.poolName;
    }
}
