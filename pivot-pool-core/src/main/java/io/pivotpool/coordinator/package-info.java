/**
 * The coordinator SPI a backend implements ({@link io.pivotpool.coordinator.Coordinator},
 * found through {@link io.pivotpool.coordinator.CoordinatorProvider}), the values it exchanges
 * (leases, grants, instances) and the in-process {@link io.pivotpool.coordinator.NoOpCoordinator}.
 * Types are non-null unless marked {@code @Nullable}.
 */
@NullMarked
package io.pivotpool.coordinator;

import org.jspecify.annotations.NullMarked;
