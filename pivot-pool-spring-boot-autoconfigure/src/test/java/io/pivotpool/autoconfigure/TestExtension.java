package io.pivotpool.autoconfigure;

import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;

import io.pivotpool.extension.custom.CustomCoordinator;

import org.springframework.boot.test.context.FilteredClassLoader;

/**
 * The custom coordinator extension as a separate class path entry: {@code src/test/extension}
 * holds nothing but its {@code AutoConfiguration.imports}, so the extension is discovered only when
 * a test puts that entry on the context's class path, exactly as when its jar is added.
 */
public final class TestExtension {

    private static final Path LOCATION = Path.of("src/test/extension");

    private TestExtension() {
    }

    /** A class loader that sees the extension jar. */
    public static ClassLoader onClassPath() {
        if (!Files.isRegularFile(LOCATION
            .resolve("META-INF/spring/org.springframework.boot.autoconfigure.AutoConfiguration.imports"))) {
            throw new IllegalStateException("The test extension is missing from " + LOCATION.toAbsolutePath());
        }
        try {
            return new URLClassLoader(new URL[] { LOCATION.toUri().toURL() }, TestExtension.class.getClassLoader());
        }
        catch (MalformedURLException ex) {
            throw new IllegalStateException(ex);
        }
    }

    /** The extension's jar is there, but the backend class it needs is not. */
    public static ClassLoader withoutBackendClass() {
        return new FilteredClassLoader(onClassPath(), CustomCoordinator.class);
    }
}
