/**
 * Real Redis servers for tests: {@link io.pivotpool.testsupport.redis.RedisServer} (a JUnit
 * extension, with failures to simulate) and {@link io.pivotpool.testsupport.redis.RedisNode} (one
 * {@code redis-server} from a configuration of the test's, for TLS, ACLs, Sentinel and Cluster).
 * Types are non-null unless marked {@code @Nullable}.
 */
@NullMarked
package io.pivotpool.testsupport.redis;

import org.jspecify.annotations.NullMarked;
