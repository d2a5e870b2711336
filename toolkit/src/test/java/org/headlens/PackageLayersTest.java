package org.headlens;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The packages are layered, one step of the method each: a package may use only the packages
 * below it, so there are no cycles and each step can be read without the ones above it.
 */
class PackageLayersTest {
    /** Lowest first; packages on one level do not use each other. */
    static final List<List<String>> LAYERS = List.of(
            List.of("model", "results"),
            List.of("forward"),
            List.of("interventions"),
            List.of("metric"),
            List.of("data"),
            List.of("evaluation"),
            List.of("attribution", "flow"),
            List.of("notebook"),
            List.of("cli"));

    private static final Pattern REFERENCE = Pattern.compile("org\\.headlens\\.([a-z]+)\\.");
    private static final Path SOURCES = Path.of("src/main/java/org/headlens");

    static int level(String pkg) {
        for (int i = 0; i < LAYERS.size(); i++) {
            if (LAYERS.get(i).contains(pkg)) {
                return i;
            }
        }
        return -1;
    }

    /** @return for each package, the packages its sources name */
    static Map<String, TreeSet<String>> uses(Path root) throws IOException {
        Map<String, TreeSet<String>> uses = new java.util.TreeMap<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                Path relative = root.relativize(file);
                if (relative.getNameCount() < 2) {
                    continue; // the root package (HeadlensException) is below every layer
                }
                String pkg = relative.getName(0).toString();
                Matcher m = REFERENCE.matcher(Files.readString(file));
                TreeSet<String> used = uses.computeIfAbsent(pkg, p -> new TreeSet<>());
                while (m.find()) {
                    if (!m.group(1).equals(pkg) && Files.isDirectory(root.resolve(m.group(1)))) {
                        used.add(m.group(1));
                    }
                }
            }
        }
        return uses;
    }

    @Test
    void everyPackageUsesOnlyPackagesBelowIt() throws IOException {
        Map<String, TreeSet<String>> uses = uses(SOURCES);
        assertTrue(uses.keySet().containsAll(List.of("model", "forward", "interventions", "attribution", "cli")), uses.keySet().toString());
        List<String> violations = new ArrayList<>();
        uses.forEach((pkg, used) -> {
            if (level(pkg) < 0) {
                violations.add(pkg + " has no place in the layers; add it to PackageLayersTest.LAYERS");
            }
            for (String other : used) {
                if (level(other) >= level(pkg)) {
                    violations.add(pkg + " uses " + other + ", which is not below it");
                }
            }
        });
        assertEquals(List.of(), violations);
    }

    @Test
    void theCheckFindsACycle(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        Files.createDirectories(dir.resolve("model"));
        Files.createDirectories(dir.resolve("forward"));
        Files.writeString(dir.resolve("forward/A.java"), "package org.headlens.forward; import org.headlens.model.B;");
        Files.writeString(dir.resolve("model/B.java"), "package org.headlens.model; class B { org.headlens.forward.A a; }");
        Map<String, TreeSet<String>> uses = uses(dir);
        assertEquals(List.of("forward"), List.copyOf(uses.get("model")));
        assertTrue(level("forward") >= level("model"), "model -> forward is what the main test refuses");
    }
}
