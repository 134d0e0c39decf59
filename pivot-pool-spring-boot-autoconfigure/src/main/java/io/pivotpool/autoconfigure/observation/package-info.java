/**
 * Coordination as Micrometer Observations: each call to the backend observed.
 */
@NullMarked
package io.pivotpool.autoconfigure.observation;

import org.jspecify.annotations.NullMarked;
