package io.pivotpool.pool;

import java.time.Duration;

/** The pool engine. Placeholder while the engine is written; replaced in the next commit. */
final class LocalPool<T> implements Pool<T> {

    LocalPool(PoolSpec<T> spec, PoolSettings settings) {
        throw new UnsupportedOperationException("engine not written yet");
    }

    @Override public String name() { throw new UnsupportedOperationException(); }
    @Override public Lease<T> borrow() { throw new UnsupportedOperationException(); }
    @Override public Lease<T> borrow(Duration timeout) { throw new UnsupportedOperationException(); }
    @Override public Lease<T> tryBorrow() { throw new UnsupportedOperationException(); }
    @Override public int maxSize() { throw new UnsupportedOperationException(); }
    @Override public void setMaxSize(int maxSize) { throw new UnsupportedOperationException(); }
    @Override public PoolStats stats() { throw new UnsupportedOperationException(); }
    @Override public PoolSettings settings() { throw new UnsupportedOperationException(); }
    @Override public void close() { }
}
