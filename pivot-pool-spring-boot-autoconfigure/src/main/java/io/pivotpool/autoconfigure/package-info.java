/**
 * Spring Boot auto-configuration of Pivot Pool: the {@code pivot.pool.*} and {@code distributed.*}
 * properties, one pool bean per configured pool, the distributed pool manager and its
 * coordinator, and the start-up failure analyzers. Types are non-null unless marked
 * {@code @Nullable}.
 */
@NullMarked
package io.pivotpool.autoconfigure;

import org.jspecify.annotations.NullMarked;
