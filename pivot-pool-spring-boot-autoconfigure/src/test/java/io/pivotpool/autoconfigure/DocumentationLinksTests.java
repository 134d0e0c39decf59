package io.pivotpool.autoconfigure;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every relative link of the README, the pages under {@code docs/} and the modules' READMEs leads
 * to a file that exists: the README was split into pages, and a newcomer following a link must
 * not land nowhere.
 */
class DocumentationLinksTests {

    private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");

    @Test
    void everyRelativeLinkLeadsToAFileThatExists() throws IOException {
        Path root = root();
        List<Path> pages = new ArrayList<>();
        pages.add(root.resolve("README.md"));
        try (Stream<Path> files = Files.list(root)) {
            files.filter(path -> Files.isDirectory(path) && Files.isRegularFile(path.resolve("README.md")))
                .map(path -> path.resolve("README.md"))
                .forEach(pages::add);
        }
        try (Stream<Path> docs = Files.list(root.resolve("docs"))) {
            docs.filter(path -> path.toString().endsWith(".md")).forEach(pages::add);
        }
        List<String> broken = new ArrayList<>();
        for (Path page : pages) {
            Matcher link = LINK.matcher(Files.readString(page, StandardCharsets.UTF_8));
            while (link.find()) {
                String target = link.group(1);
                if (target.startsWith("http://") || target.startsWith("https://") || target.startsWith("#")) {
                    continue;
                }
                String file = target.contains("#") ? target.substring(0, target.indexOf('#')) : target;
                if (!Files.exists(page.getParent().resolve(file).normalize())) {
                    broken.add(root.relativize(page) + " -> " + target);
                }
            }
        }
        assertThat(pages).hasSizeGreaterThan(8);
        assertThat(broken).as("links to files that do not exist").isEmpty();
    }

    private static Path root() {
        Path directory = Path.of("").toAbsolutePath();
        while (directory != null && !Files.isDirectory(directory.resolve("pivot-pool-core"))) {
            directory = directory.getParent();
        }
        assertThat(directory).as("the repository's root").isNotNull();
        return directory;
    }
}
