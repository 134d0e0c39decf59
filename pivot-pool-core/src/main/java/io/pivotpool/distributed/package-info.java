/**
 * The manager that runs coordination for an instance
 * ({@link io.pivotpool.distributed.DistributedPoolManager}): membership, leadership and the
 * sharing of cluster-wide caps, and the status it reports. Types are non-null unless marked
 * {@code @Nullable}.
 */
@NullMarked
package io.pivotpool.distributed;

import org.jspecify.annotations.NullMarked;
