package org.headlens;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the shared Hugging Face reference fixtures are. */
public final class Fixtures {
    private Fixtures() {
    }

    /** @return {@code ../shared/fixtures} of the repository (or the headlens.fixtures property) */
    public static Path root() {
        String configured = System.getProperty("headlens.fixtures");
        Path root = configured != null ? Path.of(configured) : Path.of("../../shared/fixtures");
        assertTrue(Files.isDirectory(root.resolve("hf")), "reference fixtures not found at " + root.toAbsolutePath());
        return root;
    }

    /** @return the fixture folder of one reference model */
    public static Path model(String name) {
        return root().resolve("hf").resolve(name);
    }
}
