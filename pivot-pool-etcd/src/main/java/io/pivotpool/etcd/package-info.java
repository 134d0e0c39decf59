/**
 * The etcd coordinator backend: {@link io.pivotpool.etcd.EtcdCoordinator}, its provider and
 * settings. Types are non-null unless marked {@code @Nullable}.
 */
@NullMarked
package io.pivotpool.etcd;

import org.jspecify.annotations.NullMarked;
