/**
 * The sample application: a pool of partner API clients made by the starter from one
 * {@code PoolSpec} bean, and the web endpoints that borrow from it. Types are non-null unless
 * marked {@code @Nullable}.
 */
@NullMarked
package io.pivotpool.sample;

import org.jspecify.annotations.NullMarked;
