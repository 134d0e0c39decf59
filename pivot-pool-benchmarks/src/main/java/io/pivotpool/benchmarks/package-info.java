/**
 * JMH benchmarks of the pool engine against its peers: commons-pool2's {@code GenericObjectPool},
 * Stormpot's {@code BlazePool} and HikariCP's {@code ConcurrentBag}. Each peer has one class with
 * the same three cases, so that one run puts them side by side (see {@code BENCHMARKS.md}).
 */
package io.pivotpool.benchmarks;
