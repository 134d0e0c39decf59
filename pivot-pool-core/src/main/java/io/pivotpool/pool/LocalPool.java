package io.pivotpool.pool;

import java.time.Duration;

import org.jspecify.annotations.Nullable;

/**
 * The pool users hold: the {@link PoolEngine} plus this pool's per-thread slot caches.
 *
 * <p>The split keeps thread-local values from pinning the pool. A thread's cache refers to a slot,
 * and a slot to its engine, but nothing the engine reaches refers back to the {@link ThreadLocal}
 * (which only this wrapper holds). So once the application drops a pool, its thread-local key
 * becomes unreachable and every thread's entry is expunged in time, as the JDK intends; a slot
 * that pointed at this wrapper would keep the key, and with it the pool and its class loader,
 * alive in every thread that ever borrowed (the concern of HikariCP's weak thread-locals).
 */
final class LocalPool<T> implements Pool<T> {

    private final PoolEngine<T> engine;

    private final ThreadLocal<SlotCache<T>> cache = ThreadLocal.withInitial(SlotCache::new);

    LocalPool(PoolSpec<T> spec, PoolSettings settings) {
        this.engine = new PoolEngine<>(spec, settings);
    }

    LocalPool(PoolSpec<T> spec, PoolSettings settings, int initialMaxSize) {
        this.engine = new PoolEngine<>(spec, settings, true, initialMaxSize);
    }

    /** For model checking: a pool without its housekeeper thread (see {@link PoolEngine#housekeep()}). */
    LocalPool(PoolSpec<T> spec, PoolSettings settings, boolean housekeeping) {
        this.engine = new PoolEngine<>(spec, settings, housekeeping);
    }

    PoolEngine<T> engine() {
        return this.engine;
    }

    @Override
    public String name() {
        return this.engine.name();
    }

    @Override
    public Lease<T> borrow() {
        return this.engine.borrow(this.cache.get());
    }

    @Override
    public Lease<T> borrow(Duration timeout) {
        return this.engine.borrow(this.cache.get(), timeout);
    }

    @Override
    public @Nullable Lease<T> tryBorrow() {
        return this.engine.tryBorrow(this.cache.get());
    }

    @Override
    public int maxSize() {
        return this.engine.maxSize();
    }

    @Override
    public void setMaxSize(int maxSize) {
        this.engine.setMaxSize(maxSize);
    }

    @Override
    public PoolStats stats() {
        return this.engine.stats();
    }

    @Override
    public PoolSettings settings() {
        return this.engine.settings();
    }

    @Override
    public void close() {
        this.engine.close();
        this.cache.remove();
    }

    @Override
    public String toString() {
        return this.engine.toString();
    }

    @Override
    public void setWaitListener(@Nullable WaitListener listener) {
        this.engine.setWaitListener(listener);
    }
}
