/**
 * Real {@code etcd} members for tests: {@link io.pivotpool.testsupport.etcd.EtcdServer}, one member
 * or a cluster, plain or over TLS, with failures to simulate. Types are non-null unless marked
 * {@code @Nullable}.
 */
@NullMarked
package io.pivotpool.testsupport.etcd;

import org.jspecify.annotations.NullMarked;
