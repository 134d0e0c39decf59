/**
 * Plumbing shared by Pivot Pool's own modules (the coordinator selection, its outcome, and the
 * factory of managers over that outcome), public only because those modules need it. <strong>Not an API</strong>: it may change in any release
 * without notice; applications and extensions use {@code io.pivotpool.distributed} and
 * {@code io.pivotpool.coordinator}.
 */
@NullMarked
package io.pivotpool.distributed.internal;

import org.jspecify.annotations.NullMarked;
