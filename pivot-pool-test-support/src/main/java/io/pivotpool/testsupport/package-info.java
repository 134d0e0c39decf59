/**
 * The test kit's fixtures that are not tied to one backend: {@link io.pivotpool.testsupport.LogCapture},
 * {@link io.pivotpool.testsupport.TestCertificates} and {@link io.pivotpool.testsupport.ServerProcesses},
 * which the server fixtures share. The contracts are in {@code io.pivotpool.testsupport.contract}.
 * Types are non-null unless marked {@code @Nullable}.
 */
@NullMarked
package io.pivotpool.testsupport;

import org.jspecify.annotations.NullMarked;
