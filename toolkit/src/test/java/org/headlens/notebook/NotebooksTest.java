package org.headlens.notebook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import jdk.jshell.JShell;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Runs every notebook's code cells in order through JShell with the toolkit on the class path,
 * as a Java kernel would, and fails on any rejected snippet or exception. Also checks what makes
 * a notebook portable across kernels: kernel name {@code java}, magics alone in their cell, no
 * committed outputs.
 */
class NotebooksTest {
    static final Path NOTEBOOKS = Path.of("..", "notebooks");
    /** The one magic every notebook uses; the kernels resolve it from the notebook's folder. */
    static final String CLASSPATH_MAGIC = "%classpath ../toolkit/target/notebook-classpath";

    static Stream<Path> notebooks() throws IOException {
        try (Stream<Path> files = Files.list(NOTEBOOKS)) {
            List<Path> list = files.filter(p -> p.toString().endsWith(".ipynb")).sorted().toList();
            assertTrue(list.size() >= 6, "six notebooks, found " + list);
            return list.stream();
        }
    }

    @ParameterizedTest
    @MethodSource("notebooks")
    void runsTopToBottomInJShell(Path notebook) throws Exception {
        JsonObject json = JsonParser.parseString(Files.readString(notebook)).getAsJsonObject();
        assertEquals("java", json.getAsJsonObject("metadata").getAsJsonObject("kernelspec").get("name").getAsString());
        List<String> code = new ArrayList<>();
        boolean loadsToolkit = false;
        for (JsonElement element : json.getAsJsonArray("cells")) {
            JsonObject cell = element.getAsJsonObject();
            if (!cell.get("cell_type").getAsString().equals("code")) {
                continue;
            }
            assertEquals(0, cell.getAsJsonArray("outputs").size(), notebook + ": committed without outputs");
            assertTrue(cell.get("execution_count").isJsonNull(), notebook + ": committed without execution counts");
            String source = source(cell.getAsJsonArray("source"));
            boolean magic = source.lines().anyMatch(line -> line.startsWith("%"));
            if (magic) {
                assertTrue(source.lines().allMatch(line -> line.isBlank() || line.startsWith("%")),
                        notebook + ": a magic shares its cell with code, which rapaio refuses:\n" + source);
                assertEquals(CLASSPATH_MAGIC, source.strip(), notebook + ": the class path magic every kernel reads");
                loadsToolkit = true;
            } else {
                assertTrue(loadsToolkit, notebook + ": code before the toolkit is on the class path");
                code.add(source);
            }
        }
        long start = System.nanoTime();
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(output, true, StandardCharsets.UTF_8);
                JShell shell = JShell.builder().executionEngine("local").out(out).err(out).build()) {
            for (String entry : testClassPath()) {
                shell.addToClasspath(entry);
            }
            int cellNumber = 0;
            for (String cell : code) {
                cellNumber++;
                run(shell, notebook + " code cell " + cellNumber, cell, output);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("%s ran in %.1f s%n", notebook.getFileName(), seconds);
        assertFalse(output.toString(StandardCharsets.UTF_8).contains("display failed"), output.toString(StandardCharsets.UTF_8));
    }

    /** Evaluates one cell snippet by snippet, as the kernels do; the cell's text is named in any failure. */
    private static void run(JShell shell, String where, String cell, ByteArrayOutputStream output) {
        String remaining = cell;
        while (!remaining.isBlank()) {
            SourceCodeAnalysis.CompletionInfo info = shell.sourceCodeAnalysis().analyzeCompletion(remaining);
            if (info.completeness() == SourceCodeAnalysis.Completeness.EMPTY) {
                break;
            }
            if (!info.completeness().isComplete()) {
                fail(where + ": incomplete Java at: " + remaining.strip());
            }
            for (SnippetEvent event : shell.eval(info.source())) {
                if (event.status() == Snippet.Status.REJECTED) {
                    StringBuilder message = new StringBuilder(where + ": rejected:\n" + info.source());
                    shell.diagnostics(event.snippet()).forEach(d -> message.append("\n  ").append(d.getMessage(null)));
                    fail(message.toString());
                }
                if (event.exception() != null) {
                    fail(where + ": " + event.exception() + "\n" + info.source() + "\noutput so far:\n"
                            + output.toString(StandardCharsets.UTF_8), event.exception());
                }
            }
            remaining = info.remaining();
        }
    }

    private static String source(JsonArray lines) {
        StringBuilder text = new StringBuilder();
        lines.forEach(line -> text.append(line.getAsString()));
        return text.toString();
    }

    /** Surefire may hide the class path behind a manifest-only jar; it also publishes it in full. */
    private static List<String> testClassPath() {
        String path = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        return List.of(path.split(File.pathSeparator));
    }
}
