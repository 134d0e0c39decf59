/**
 * Micrometer meters for the pools and the coordinator, and their auto-configuration. Types are
 * non-null unless marked {@code @Nullable}.
 */
@NullMarked
package io.pivotpool.autoconfigure.metrics;

import org.jspecify.annotations.NullMarked;
