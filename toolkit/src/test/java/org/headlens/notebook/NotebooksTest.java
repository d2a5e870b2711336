package org.headlens.notebook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import jdk.jshell.JShell;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Runs every notebook's code cells in order through JShell with the toolkit on the class path,
 * as a Java kernel would, and fails on any rejected snippet or exception. Also checks what makes
 * a notebook portable across kernels: kernel name {@code java}, magics alone in their cell, no
 * committed outputs; and what makes it teach the method on any model: no layer or head counts
 * written as numbers, no fully qualified class names outside imports, and the interventions run
 * through the engine in the notebooks that ablate, measure masks or cut flows.
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

    /**
     * Code that writes a model's head grid as numbers holds for one model only: a mask or grid
     * built from literal sizes, a loop over layers or heads up to a literal, a size variable set
     * to a literal.
     */
    static final List<Pattern> LITERAL_COUNTS = List.of(
            Pattern.compile("\\bHeadMask\\s*\\.\\s*(of|none|all|random)\\s*\\(\\s*\\d+\\s*,\\s*\\d+"),
            Pattern.compile("\\bnew\\s+Heads\\s*\\(\\s*\\d+\\s*,\\s*\\d+"),
            Pattern.compile("\\bRanking\\s*\\.\\s*random\\s*\\(\\s*\\d+"),
            Pattern.compile("(?i)\\b(l|h|layers?|heads?|perLayer)\\s*<=?\\s*\\d+"),
            Pattern.compile("(?i)\\b(layers|heads|perLayer|layerCount|headCount|numLayers|numHeads)\\s*=\\s*\\d+"));
    /** Prose that states a model's layer or head count, e.g. "6 layers of 8 heads". */
    static final Pattern LITERAL_COUNT_IN_PROSE = Pattern.compile("(?i)\\b\\d+\\s+(decoder\\s+)?(layers|heads)\\b");
    /** A class named through its package, e.g. {@code org.headlens.forward.Head} or {@code tech.tablesaw.api.Table}. */
    static final Pattern QUALIFIED_NAME = Pattern.compile("\\b[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+\\.[A-Z]\\w*");
    /** The notebooks whose steps are interventions: they must run them through the engine, batched. */
    static final List<String> ENGINE_NOTEBOOKS = List.of("01-", "02-", "03-", "05-", "06-");

    /** @return the rule a cell breaks, or null: literal head grid sizes, or a qualified class name outside an import */
    static String brokenRule(String cellType, String source) {
        for (String line : source.split("\\R")) {
            if (cellType.equals("markdown")) {
                Matcher prose = LITERAL_COUNT_IN_PROSE.matcher(line);
                if (prose.find()) {
                    return "states a layer or head count as a number ('" + prose.group() + "'); it depends on the model";
                }
                continue;
            }
            if (line.strip().startsWith("import ") || line.strip().startsWith("%")) {
                continue;
            }
            for (Pattern pattern : LITERAL_COUNTS) {
                Matcher count = pattern.matcher(line);
                if (count.find()) {
                    return "writes a layer or head count as a number ('" + count.group() + "'); derive it from Heads.of(model.config())";
                }
            }
            Matcher qualified = QUALIFIED_NAME.matcher(line);
            if (qualified.find()) {
                return "names a class through its package ('" + qualified.group() + "'); import it instead";
            }
        }
        return null;
    }

    @ParameterizedTest
    @MethodSource("notebooks")
    void cellsWorkOnAnyModelAndImportWhatTheyUse(Path notebook) throws Exception {
        JsonObject json = JsonParser.parseString(Files.readString(notebook)).getAsJsonObject();
        StringBuilder code = new StringBuilder();
        int cellNumber = 0;
        for (JsonElement element : json.getAsJsonArray("cells")) {
            cellNumber++;
            JsonObject cell = element.getAsJsonObject();
            String type = cell.get("cell_type").getAsString();
            String source = source(cell.getAsJsonArray("source"));
            String broken = brokenRule(type, source);
            assertNull(broken, notebook + " cell " + cellNumber + " " + broken + ":\n" + source);
            if (type.equals("code")) {
                code.append(source).append('\n');
            }
        }
        String name = notebook.getFileName().toString();
        if (ENGINE_NOTEBOOKS.stream().anyMatch(name::startsWith)) {
            assertTrue(code.toString().contains("InterventionEngine.prepare("), notebook + ": prepares no InterventionEngine");
            assertTrue(code.toString().contains(".finalLogits("), notebook + ": runs no interventions through engine.finalLogits");
        }
    }

    @Test
    void theRulesCatchLiteralCountsAndQualifiedNames() {
        for (String bad : List.of("var mask = HeadMask.of(4, 4, List.of(head));", "var grid = new Heads(6, 4);",
                "masks.add(HeadMask.random(6, 8, 0.5, random));", "HeadMask.all( 6 ,8)", "var order = Ranking.random(48, new Random(0));",
                "for (int layer = 0; layer < 6; layer++) {", "for (int h = 0; h <= 7; h++) {", "int heads = 8;",
                "var head = new org.headlens.forward.Head(1, 2);", "var t = tech.tablesaw.api.Table.create(\"x\");",
                "  org.headlens.forward.Heads.of(model.config())")) {
            assertNotNull(brokenRule("code", "var model = load();\n" + bad), bad);
        }
        for (String good : List.of("import org.headlens.forward.Head;", "import static org.headlens.notebook.Display.show;",
                "var mask = HeadMask.random(heads, 0.5, random);", "var heads = Heads.of(model.config());",
                "for (int layer = 0; layer < heads.layers(); layer++) {", "var head = new Head(heads.layers() / 2, 0);",
                "show(Charts.headGrid(\"x\", heads, values));", "var p = model.imageProcessor().pixelValues(scope, sample.image());",
                "Capture.every(Site.Kind.ATTENTION_PATTERN)", "List<Head> top = attribution.topHeads(5);")) {
            assertNull(brokenRule("code", good), good);
        }
        assertNotNull(brokenRule("markdown", "A LLaMA-style decoder with 6 layers of 8 heads."));
        assertNotNull(brokenRule("markdown", "It ablates all 48 heads."));
        assertNull(brokenRule("markdown", "Ablating each head alone, then the top k heads of a ranking."));
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
    static void run(JShell shell, String where, String cell, ByteArrayOutputStream output) {
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
