/**
 * The partner the sample pools clients of: {@link io.pivotpool.sample.partner.PartnerClient},
 * expensive to make, and {@link io.pivotpool.sample.partner.PartnerSimulator}, the partner's API
 * simulated in process with its limit of concurrent calls. Types are non-null unless marked
 * {@code @Nullable}.
 */
@NullMarked
package io.pivotpool.sample.partner;

import org.jspecify.annotations.NullMarked;
