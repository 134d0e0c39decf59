package io.pivotpool.pool;

/** What a pool does when every object is borrowed and it has reached its size limit. */
public enum Overflow {

    /** Wait in FIFO order for a returned object until the borrow timeout, then throw. */
    WAIT,

    /**
     * Create objects beyond the size limit up to the emergency limit, destroying them again as they
     * come back; wait like {@link #WAIT} once the emergency limit is reached.
     */
    ELASTIC,

    /** Hand out a fresh, unpooled object that is destroyed when returned. */
    FALLBACK,

    /** Throw {@link PoolExhaustedException} at once. */
    FAIL
}
