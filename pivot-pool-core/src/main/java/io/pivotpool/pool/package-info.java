/**
 * The local object pool: {@link io.pivotpool.pool.Pool} (created from a
 * {@link io.pivotpool.pool.PoolSpec} and {@link io.pivotpool.pool.PoolSettings}), its
 * {@link io.pivotpool.pool.Lease}s and {@link io.pivotpool.pool.PoolStats}. Everything else here is
 * package-private machinery. Types are non-null unless marked {@code @Nullable}.
 */
@NullMarked
package io.pivotpool.pool;

import org.jspecify.annotations.NullMarked;
