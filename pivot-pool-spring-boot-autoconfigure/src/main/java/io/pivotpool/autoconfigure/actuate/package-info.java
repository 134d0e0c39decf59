/**
 * The {@code pools} actuator endpoint and the masking of coordinator credentials. Types are
 * non-null unless marked {@code @Nullable}.
 */
@NullMarked
package io.pivotpool.autoconfigure.actuate;

import org.jspecify.annotations.NullMarked;
