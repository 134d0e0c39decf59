/**
 * The Redis coordinator backend: {@link io.pivotpool.redis.RedisCoordinator}, its provider and
 * settings (see the module's README for the key layout and limits). Types are non-null unless
 * marked {@code @Nullable}.
 */
@NullMarked
package io.pivotpool.redis;

import org.jspecify.annotations.NullMarked;
