/**
 * Spring Boot auto-configuration of the etcd coordinator, its properties and the masking of
 * its credentials. Types are non-null unless marked {@code @Nullable}.
 */
@NullMarked
package io.pivotpool.etcd.autoconfigure;

import org.jspecify.annotations.NullMarked;
