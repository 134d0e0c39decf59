/**
 * JMH benchmarks of the etcd coordinator: the latency of its operations next to raw jetcd calls on
 * the same server, and {@link io.pivotpool.testsupport.etcd.EtcdServer} (the test kit's), the throw-away etcd they
 * (and {@code CoordinatedBorrowBenchmark}'s {@code etcd} case) run against.
 */
package io.pivotpool.benchmarks.etcd;
