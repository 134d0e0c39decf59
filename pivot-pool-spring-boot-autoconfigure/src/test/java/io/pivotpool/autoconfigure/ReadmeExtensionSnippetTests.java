package io.pivotpool.autoconfigure;

import java.io.File;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorProvider;
import io.pivotpool.distributed.CoordinationStatus;
import io.pivotpool.distributed.DistributedPoolManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/**
 * The README's "Writing a coordinator extension" (docs/extensions.md) is a working extension: every Java block of that
 * section that declares {@code package com.example.pivot.custom} is compiled as it stands against
 * this module's test class path (which holds what the README's pom snippet names), the contract
 * test it shows passes against the coordinator it shows, and the auto-configuration it shows makes
 * {@code distributed.coordination: custom} work.
 */
class ReadmeExtensionSnippetTests {

    private static final String SECTION = "## Writing a coordinator extension";

    private static final String PACKAGE = "com.example.pivot.custom";

    private static final Pattern JAVA_BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);

    private static final Pattern CLASS_NAME = Pattern
        .compile("^(?:public\\s+)?(?:final\\s+)?class\\s+(\\w+)", Pattern.MULTILINE);

    @TempDir
    Path work;

    @Test
    void theReadmesExtensionCompilesKeepsTheContractAndIsSelectedByName() throws Exception {
        List<String> sources = extensionSources();
        assertThat(sources).as("Java blocks declaring package %s in '%s'", PACKAGE, SECTION).hasSize(3);
        try (URLClassLoader loader = compile(sources)) {
            Class<?> coordinatorClass = loader.loadClass(PACKAGE + ".CustomCoordinator");
            assertThat(Coordinator.class).isAssignableFrom(coordinatorClass);

            TestExecutionSummary summary = runContract(loader.loadClass(PACKAGE + ".CustomCoordinatorContractTests"));
            assertThat(summary.getTestsFoundCount()).as("contract tests found").isGreaterThan(20);
            assertThat(summary.getFailures()).as("contract failures").isEmpty();
            assertThat(summary.getTestsSucceededCount()).isEqualTo(summary.getTestsFoundCount()
                    - summary.getTestsSkippedCount() - summary.getTestsAbortedCount());

            Class<?> autoConfiguration = loader.loadClass(PACKAGE + ".CustomCoordinatorAutoConfiguration");
            // Boot reads auto-configuration classes' metadata through the default (context) class loader.
            Thread thread = Thread.currentThread();
            ClassLoader previous = thread.getContextClassLoader();
            thread.setContextClassLoader(loader);
            try {
                selectedByName(loader, autoConfiguration);
            }
            finally {
                thread.setContextClassLoader(previous);
            }
        }
    }

    private static void selectedByName(ClassLoader loader, Class<?> autoConfiguration) {
        new ApplicationContextRunner().withClassLoader(loader)
            .withConfiguration(AutoConfigurations.of(PivotPoolAutoConfiguration.class, autoConfiguration))
            .withPropertyValues("distributed.enabled=true", "distributed.coordination=custom",
                    "distributed.namespace=readme")
            .run((context) -> {
                assertThat(context).hasNotFailed();
                assertThat(context.getBeansOfType(CoordinatorProvider.class)).hasSize(1);
                CoordinationStatus status = context.getBean(DistributedPoolManager.class).status();
                assertThat(status.activeBackend()).isEqualTo("custom");
                assertThat(status.connected()).isTrue();
                assertThat(status.members()).hasSize(1);
                assertThat(context.getBean(Coordinator.class).toString())
                    .isEqualTo("CustomCoordinator[namespace 'readme']");
            });
    }

    /** The Java blocks of the section that declare the sample's package, in order. */
    static List<String> extensionSources() throws IOException {
        String readme = Files.readString(readme(), StandardCharsets.UTF_8);
        int start = readme.indexOf(SECTION);
        assertThat(start).as("README section '%s'", SECTION).isNotNegative();
        int end = readme.indexOf("\n## ", start + SECTION.length());
        String section = (end < 0) ? readme.substring(start) : readme.substring(start, end);
        List<String> sources = new ArrayList<>();
        Matcher block = JAVA_BLOCK.matcher(section);
        while (block.find()) {
            if (block.group(1).startsWith("package " + PACKAGE + ";")) {
                sources.add(block.group(1));
            }
        }
        return sources;
    }

    private static Path readme() {
        Path directory = Path.of("").toAbsolutePath();
        while (directory != null && !Files.isRegularFile(directory.resolve("README.md").normalize())
                || directory != null && !Files.isDirectory(directory.resolve("pivot-pool-core"))) {
            directory = directory.getParent();
        }
        assertThat(directory).as("the repository's root, above %s", Path.of("").toAbsolutePath()).isNotNull();
        return directory.resolve("docs/extensions.md");
    }

    private URLClassLoader compile(List<String> sources) throws IOException {
        Path sourceRoot = Files.createDirectories(this.work.resolve("src/" + PACKAGE.replace('.', '/')));
        Path classes = Files.createDirectories(this.work.resolve("classes"));
        List<File> files = new ArrayList<>();
        for (String source : sources) {
            Matcher name = CLASS_NAME.matcher(source);
            assertThat(name.find()).as("a top-level class in:%n%s", source).isTrue();
            Path file = sourceRoot.resolve(name.group(1) + ".java");
            Files.writeString(file, source, StandardCharsets.UTF_8);
            files.add(file.toFile());
        }
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        assertThat(compiler).as("a JDK's compiler").isNotNull();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        try (StandardJavaFileManager fileManager = compiler.getStandardFileManager(diagnostics, Locale.ROOT,
                StandardCharsets.UTF_8)) {
            List<String> options = List.of("-classpath", testClassPath(), "-d", classes.toString(), "--release",
                    "17", "-proc:none", "-Xlint:all", "-Werror");
            boolean compiled = compiler
                .getTask(null, fileManager, diagnostics, options, null, fileManager.getJavaFileObjectsFromFiles(files))
                .call();
            StringBuilder report = new StringBuilder();
            for (Diagnostic<? extends JavaFileObject> diagnostic : diagnostics.getDiagnostics()) {
                report.append(diagnostic).append(System.lineSeparator());
            }
            assertThat(compiled).as("the README's extension compiles:%n%s", report).isTrue();
            assertThat(report.toString()).as("no warnings").isEmpty();
        }
        return new URLClassLoader(new URL[] { classes.toUri().toURL() }, getClass().getClassLoader());
    }

    /** Surefire runs the tests through a manifest-only jar; it names the real class path in a property. */
    private static String testClassPath() {
        String surefire = System.getProperty("surefire.test.class.path");
        return (surefire != null && !surefire.isBlank()) ? surefire : System.getProperty("java.class.path");
    }

    private static TestExecutionSummary runContract(Class<?> testClass) {
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
            .selectors(selectClass(testClass))
            .build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launcher.execute(request, listener);
        return listener.getSummary();
    }
}
