/**
 * Spring Boot auto-configuration of the Redis coordinator and its {@code distributed.redis.*}
 * properties. Types are non-null unless marked {@code @Nullable}.
 */
@NullMarked
package io.pivotpool.redis.autoconfigure;

import org.jspecify.annotations.NullMarked;
