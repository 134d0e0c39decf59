/**
 * The coordinator's health indicator and its auto-configuration. Types are non-null unless
 * marked {@code @Nullable}.
 */
@NullMarked
package io.pivotpool.autoconfigure.health;

import org.jspecify.annotations.NullMarked;
