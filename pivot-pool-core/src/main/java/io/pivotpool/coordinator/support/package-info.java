/**
 * Helpers for the authors of coordinator backends, the built-in ones and extensions alike, so that
 * every backend keeps the SPI's rules the same way: the argument rules
 * ({@link io.pivotpool.coordinator.support.CoordinatorArguments}), escaping of text a backend read
 * ({@link io.pivotpool.coordinator.support.RemoteText}), what a record may claim
 * ({@link io.pivotpool.coordinator.support.Plausibility}), rate-limited warnings about bad keys
 * ({@link io.pivotpool.coordinator.support.GarbageWarnings}) and the detection of two processes
 * with one instance id ({@link io.pivotpool.coordinator.support.DuplicateInstanceIds}).
 * Applications do not need them: they use {@code io.pivotpool.coordinator} and
 * {@code io.pivotpool.distributed}. Types are non-null unless marked {@code @Nullable}.
 */
@NullMarked
package io.pivotpool.coordinator.support;

import org.jspecify.annotations.NullMarked;
