/**
 * The promises a coordinator keeps, as abstract test classes a backend's tests extend:
 * {@link io.pivotpool.testsupport.contract.CoordinatorContract},
 * {@link io.pivotpool.testsupport.contract.MultiInstanceCoordinatorContract},
 * {@link io.pivotpool.testsupport.contract.HostileDataContract} and
 * {@link io.pivotpool.testsupport.contract.ClusterCapacityContract}, with the
 * {@link io.pivotpool.testsupport.contract.ForwardingCoordinator} test doubles start from. Types are
 * non-null unless marked {@code @Nullable}.
 */
@NullMarked
package io.pivotpool.testsupport.contract;

import org.jspecify.annotations.NullMarked;
