package org.headlens.notebook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import jdk.jshell.JShell;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import org.headlens.Fixtures;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Notebook 06 ("your own model") on the LLaVA-NeXT and Qwen2-VL reference models instead of the
 * tiny LLaVA: its cells run top to bottom in JShell with only the model folder changed (and,
 * since the reference models' weights are random, attribution keeping the samples they answer
 * wrongly). The reference folders hold no tokenizer, so each gets a word-level one with the
 * notebook's words, the family's placeholder at the config's id and, for Qwen2-VL, its chat tokens.
 */
class OwnModelNotebookFamiliesTest {
    private static final Path NOTEBOOK = Path.of("..", "notebooks", "06-your-own-model.ipynb");

    @TempDir
    static Path dir;

    /** The reference folder beside a tokenizer built from the tiny model's. */
    private static Path withTokenizer(String name) throws Exception {
        Path reference = Fixtures.model(name);
        Path folder = Files.createDirectories(dir.resolve(name));
        try (Stream<Path> files = Files.list(reference)) {
            for (Path file : files.toList()) {
                Files.createSymbolicLink(folder.resolve(file.getFileName()), file.toAbsolutePath());
            }
        }
        JsonObject tokenizer = JsonParser.parseString(Files.readString(Path.of("..", "datasets", "tiny-shapes", "model", "tokenizer.json")))
                .getAsJsonObject();
        JsonObject vocab = tokenizer.getAsJsonObject("model").getAsJsonObject("vocab");
        JsonArray added = tokenizer.getAsJsonArray("added_tokens");
        if (name.startsWith("qwen")) {
            int next = vocab.size();
            for (String word : List.of("system", "You", "are", "a", "helpful", "assistant", "user")) {
                vocab.addProperty(word, next++);
            }
            for (Map.Entry<String, Integer> special : Map.of("<|im_start|>", 121, "<|im_end|>", 122, "<|vision_start|>", 124,
                    "<|vision_end|>", 125, "<|image_pad|>", 127).entrySet()) {
                vocab.addProperty(special.getKey(), special.getValue());
                JsonObject token = added.get(0).getAsJsonObject().deepCopy();
                token.addProperty("id", special.getValue());
                token.addProperty("content", special.getKey());
                added.add(token);
            }
            // Qwen adds no begin-of-sequence token
            tokenizer.add("post_processor", JsonNull.INSTANCE);
        } else {
            vocab.addProperty("<image>", 127);
            for (JsonElement token : added) {
                if (token.getAsJsonObject().get("content").getAsString().equals("<image>")) {
                    token.getAsJsonObject().addProperty("id", 127);
                }
            }
        }
        Files.writeString(folder.resolve("tokenizer.json"), tokenizer.toString());
        return folder;
    }

    @ParameterizedTest
    @ValueSource(strings = {"llava-next-clip-llama", "qwen2-vl"})
    void runsOnTheFamilysReferenceModel(String name) throws Exception {
        Path folder = withTokenizer(name);
        JsonObject json = JsonParser.parseString(Files.readString(NOTEBOOK)).getAsJsonObject();
        List<String> cells = new ArrayList<>();
        for (JsonElement element : json.getAsJsonArray("cells")) {
            JsonObject cell = element.getAsJsonObject();
            StringBuilder source = new StringBuilder();
            cell.getAsJsonArray("source").forEach(line -> source.append(line.getAsString()));
            if (cell.get("cell_type").getAsString().equals("code") && !source.toString().startsWith("%")) {
                cells.add(source.toString());
            }
        }
        String tiny = "Path.of(\"../datasets/tiny-shapes/model\")";
        assertTrue(cells.stream().anyMatch(c -> c.contains(tiny)), "the notebook names its model folder in one place");
        assertTrue(cells.stream().anyMatch(c -> c.contains(".withCurvePoints(3)")), "the attribution options");
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(output, true, StandardCharsets.UTF_8);
                JShell shell = JShell.builder().executionEngine("local").out(out).err(out).build()) {
            String path = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
            for (String entry : path.split(File.pathSeparator)) {
                shell.addToClasspath(entry);
            }
            int number = 0;
            for (String cell : cells) {
                number++;
                if (number == cells.size()) {
                    // before the last cell closes the engine: what the cells computed (JShell's local engine prints elsewhere)
                    assertEquals("\"" + (name.startsWith("qwen") ? "qwen2_vl" : "llava_next") + "\"", value(shell, "model.family().name()"));
                    assertTrue(value(shell, "byClass.summary()").startsWith("\"data: folders "), "the own images as class folders");
                    assertEquals("24", value(shell, "byManifest.samples().size()"), "the own images from the manifest");
                    assertEquals(value(shell, "ownByClass.accuracy()"), value(shell, "ownByManifest.accuracy()"), "same images, same accuracy");
                    double fast = Double.parseDouble(value(shell, "largestDifference(engine.finalLogits(masks), engine.finalLogitsFullRecompute(masks, masks.size()))"));
                    assertTrue(fast < 1e-4, "the fast path agrees with the full pass: " + fast);
                    assertEquals("3", value(shell, "patched.length"), "activation patching ran");
                }
                String source = cell.replace(tiny, "Path.of(\"" + folder.toAbsolutePath() + "\")")
                        .replace(".withCurvePoints(3)", ".withCurvePoints(3).withDropIncorrect(false)");
                NotebooksTest.run(shell, NOTEBOOK + " on " + name + ", code cell " + number, source, output);
            }
        }
    }

    /** @return the value of an expression in the shell, as JShell shows it */
    private static String value(JShell shell, String expression) {
        List<SnippetEvent> events = shell.eval(expression + ";");
        SnippetEvent last = events.get(events.size() - 1);
        assertTrue(last.exception() == null && last.status() != Snippet.Status.REJECTED, expression + ": " + last);
        return last.value();
    }
}
