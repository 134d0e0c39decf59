/**
 * The coordinator SPI a backend implements ({@link io.pivotpool.coordinator.Coordinator},
 * found through {@link io.pivotpool.coordinator.CoordinatorProvider}), the values it exchanges
 * (leases, grants, instances) and the in-process {@link io.pivotpool.coordinator.NoOpCoordinator}.
 * What an implementation uses to keep the SPI's rules (argument checks, escaping remote text,
 * plausibility of records) is in {@code io.pivotpool.coordinator.support}. Types are non-null
 * unless marked {@code @Nullable}.
 */
@NullMarked
package io.pivotpool.coordinator;

import org.jspecify.annotations.NullMarked;
