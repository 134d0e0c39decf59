/**
 * {@link io.pivotpool.mode.HighPerformanceMode}: pools and coordination for a program without
 * Spring. Types are non-null unless marked {@code @Nullable}.
 */
@NullMarked
package io.pivotpool.mode;

import org.jspecify.annotations.NullMarked;
