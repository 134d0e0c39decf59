/**
 * JMH benchmarks of the Redis coordinator: the latency of its operations next to raw Lettuce
 * commands on the same server.
 */
package io.pivotpool.benchmarks.redis;
