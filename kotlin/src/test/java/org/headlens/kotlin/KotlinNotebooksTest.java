package org.headlens.kotlin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Checks the Kotlin notebooks without running them (KotlinNotebooksIT runs them): each is a twin
 * of a Java notebook, runs on the kernel named {@code kotlin}, is committed without outputs, loads
 * headlens with the one line that the integration answers, alone in the first code cell, runs its
 * interventions through the engine, and writes no layer or head count as a number.
 */
class KotlinNotebooksTest {
    static final Path NOTEBOOKS = Path.of("..", "notebooks", "kotlin");
    /** The one line that loads headlens: the toolkit, its libraries and the integration, from this module's build. */
    static final String LOAD_LINE = "@file:DependsOn(\"../../kotlin/target/notebook-classpath\")";

    static Stream<Path> notebooks() throws IOException {
        try (Stream<Path> files = Files.list(NOTEBOOKS)) {
            List<Path> list = files.filter(p -> p.toString().endsWith(".ipynb")).sorted().toList();
            assertTrue(list.size() >= 3, "the quick start, head attribution and token flow in Kotlin, found " + list);
            return list.stream();
        }
    }

    /** Kotlin and Java ways of writing a head grid's size as a number. */
    static final List<Pattern> LITERAL_COUNTS = List.of(
            Pattern.compile("\\bHeadMask\\s*\\.\\s*(of|none|all|random)\\s*\\(\\s*\\d+\\s*,\\s*\\d+"),
            Pattern.compile("\\bHeads\\s*\\(\\s*\\d+\\s*,\\s*\\d+"),
            Pattern.compile("\\bRanking\\s*\\.\\s*random\\s*\\(\\s*\\d+"),
            Pattern.compile("(?i)\\b(l|h|layers?|heads?|perLayer)\\s*<=?\\s*\\d+"),
            Pattern.compile("(?i)\\b(l|h|layer|head|index)\\s+in\\s+\\d+\\s*(until|\\.\\.)\\s*\\d+"),
            Pattern.compile("(?i)\\b(?:val|var)\\s+(layers|heads|perLayer|layerCount|headCount|numLayers|numHeads)\\s*(:\\s*\\w+\\s*)?=\\s*\\d+"));
    /** Prose that states a model's layer or head count, e.g. "6 layers of 8 heads". */
    static final Pattern LITERAL_COUNT_IN_PROSE = Pattern.compile("(?i)\\b\\d+\\s+(decoder\\s+)?(layers|heads)\\b");

    /** @return the rule a cell breaks, or null */
    static String brokenRule(String cellType, String source) {
        for (String line : source.split("\\R")) {
            Matcher prose = LITERAL_COUNT_IN_PROSE.matcher(line);
            if (cellType.equals("markdown")) {
                if (prose.find()) {
                    return "states a layer or head count as a number ('" + prose.group() + "'); it depends on the model";
                }
                continue;
            }
            if (line.strip().startsWith("import ") || line.strip().startsWith("@file:")) {
                continue;
            }
            for (Pattern pattern : LITERAL_COUNTS) {
                Matcher count = pattern.matcher(line);
                if (count.find()) {
                    return "writes a layer or head count as a number ('" + count.group() + "'); derive it from Heads.of(model.config())";
                }
            }
        }
        return null;
    }

    @Test
    void theRulesCatchLiteralCountsInKotlin() {
        for (String bad : List.of("val mask = HeadMask.of(4, 4, listOf(head))", "val grid = Heads(6, 4)", "for (layer in 0 until 6) {",
                "for (h in 0..7) {", "val heads = 8", "var layers: Int = 6", "HeadMask.random(6, 8, 0.5, random)")) {
            assertNotNull(brokenRule("code", "val model = load()\n" + bad), bad);
        }
        for (String good : List.of("for (layer in 0 until heads.layers()) {", "val head = Head(heads.layers() / 2, 0)",
                "val masks = List(fitted + heldOut) { HeadMask.random(heads, 0.5, random) }", "val sample = samples[5]",
                "attribution.heads().sortDescendingOn(\"attribution\").first(10)")) {
            assertNull(brokenRule("code", good), good);
        }
        assertNotNull(brokenRule("markdown", "A decoder with 6 layers of 8 heads."));
    }

    @ParameterizedTest
    @MethodSource("notebooks")
    void isATwinOfAJavaNotebookThatLoadsHeadlensInOneLineAndUsesTheEngine(Path notebook) throws Exception {
        JsonObject json = JsonParser.parseString(Files.readString(notebook)).getAsJsonObject();
        assertEquals("kotlin", json.getAsJsonObject("metadata").getAsJsonObject("kernelspec").get("name").getAsString(), notebook.toString());
        assertTrue(Files.exists(NOTEBOOKS.resolve("..").resolve(notebook.getFileName())), notebook + ": the Java notebook it mirrors");
        StringBuilder code = new StringBuilder();
        boolean first = true;
        int cellNumber = 0;
        for (JsonElement element : json.getAsJsonArray("cells")) {
            cellNumber++;
            JsonObject cell = element.getAsJsonObject();
            String type = cell.get("cell_type").getAsString();
            String source = source(cell.getAsJsonArray("source"));
            assertNull(brokenRule(type, source), notebook + " cell " + cellNumber + " " + brokenRule(type, source) + ":\n" + source);
            if (!type.equals("code")) {
                continue;
            }
            assertEquals(0, cell.getAsJsonArray("outputs").size(), notebook + ": committed without outputs");
            assertTrue(cell.get("execution_count").isJsonNull(), notebook + ": committed without execution counts");
            if (first) {
                assertEquals(LOAD_LINE, source.strip(), notebook + ": the first code cell loads headlens, alone");
                first = false;
            } else {
                assertFalse(source.contains("@file:DependsOn"), notebook + ": headlens is loaded once, by the first code cell");
                assertFalse(source.contains("%classpath"), notebook + ": a Java kernel's magic");
            }
            code.append(source).append('\n');
        }
        // the line's path, from the notebook's folder, is where this module builds the notebook class path
        assertEquals(Path.of("target", "notebook-classpath").toAbsolutePath().normalize(),
                NOTEBOOKS.resolve("../../kotlin/target/notebook-classpath").toAbsolutePath().normalize());
        assertTrue(code.toString().contains("InterventionEngine.prepare("), notebook + ": prepares no InterventionEngine");
        assertTrue(code.toString().contains(".finalLogits("), notebook + ": runs no interventions through engine.finalLogits");
    }

    private static String source(JsonArray lines) {
        StringBuilder text = new StringBuilder();
        lines.forEach(line -> text.append(line.getAsString()));
        return text.toString();
    }
}
