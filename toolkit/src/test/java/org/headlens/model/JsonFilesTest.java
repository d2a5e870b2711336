package org.headlens.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.headlens.HeadlensException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every JSON file of a model folder goes through one reader: sizes, depth, duplicates, trailing text. */
class JsonFilesTest {
    /** A refusal names the file, fits on one short line and never shows a parser's internals. */
    private static String refused(Path file, Runnable read) {
        HeadlensException e = assertThrows(HeadlensException.class, read::run);
        String message = e.getMessage();
        assertTrue(message.startsWith(file.toString()), "names the file: " + message);
        assertTrue(!message.contains("\n") && message.length() < 400, "one short line: " + message.length() + " chars");
        assertTrue(!message.contains("http") && !message.contains("Exception") && !message.contains("setStrictness"),
                "no parser internals: " + message);
        return message;
    }

    @Test
    void oversizedFilesAreRefusedFromTheirSizeBeforeReading(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("model"));
        Path config = dir.resolve("model").resolve("config.json");
        // sparse: 200 MB on the file system's books, nothing written
        try (RandomAccessFile file = new RandomAccessFile(config.toFile(), "rw")) {
            file.setLength(200L * 1024 * 1024);
        }
        long start = System.nanoTime();
        String message = refused(config, () -> ModelConfig.read(config.getParent()));
        assertTrue(message.contains(String.valueOf(200L * 1024 * 1024)) && message.contains(String.valueOf(JsonFiles.MAX_CONFIG_BYTES)), message);
        assertTrue(System.nanoTime() - start < 2_000_000_000L, "refused without reading 200 MB");

        Path index = dir.resolve("model").resolve("model.safetensors.index.json");
        Files.writeString(index, "{\"weight_map\":{" + "\"a\":\"b\",".repeat(10) + "\"c\":\"d\"}}");
        message = refused(index, () -> JsonFiles.readObject(index, 64));
        assertTrue(message.contains("more than the 64 bytes"), message);
    }

    @Test
    void deepNestingTrailingTextDuplicatesAndOtherMalformedTextAreRefusedInOneLine(@TempDir Path dir) throws Exception {
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("[".repeat(300_000), "deeper than " + JsonFiles.MAX_DEPTH + " levels");
        expected.put("{\"a\":" + "[".repeat(100) + "]".repeat(100) + "}", "deeper than " + JsonFiles.MAX_DEPTH + " levels");
        expected.put("{\"model_type\":\"llava\"} trailing garbage", "after the end of the value");
        expected.put("{\"model_type\":\"llava\"}}", "after the end of the value");
        expected.put("{\"model_type\":\"llava\",\"model_type\":\"llava\"}", "'model_type' twice");
        expected.put("{\"text_config\":{\"hidden_size\":64,\"hidden_size\":128}}", "'text_config.hidden_size' twice");
        expected.put("{\"a\":", "is not valid JSON");
        expected.put("", "is empty");
        expected.put("   ", "is empty");
        expected.put("[1, 2]", "not a JSON object");
        expected.put("\"just a string\"", "not a JSON object");
        for (Map.Entry<String, String> text : expected.entrySet()) {
            Path file = dir.resolve("config.json");
            Files.writeString(file, text.getKey());
            String message = refused(file, () -> ModelConfig.read(dir));
            assertTrue(message.contains(text.getValue()), message);
        }
        Path latin1 = dir.resolve("preprocessor_config.json");
        Files.write(latin1, new byte[] {'{', '"', (byte) 0xe9, '"', ':', '1', '}'});
        assertTrue(refused(latin1, () -> JsonFiles.readObject(latin1, 100)).contains("not UTF-8"));
    }

    @Test
    void theImageProcessorAndTheShardIndexUseTheSameReader(@TempDir Path dir) throws Exception {
        Path copy = ModelCopies.withWeights(ModelCopies.TINY, dir.resolve("model"), (manager, tensors) -> { });
        Path processor = copy.resolve("preprocessor_config.json");
        Files.writeString(processor, Files.readString(processor) + " trailing");
        assertTrue(refused(processor, () -> Lvlm.load(copy)).contains("after the end of the value"));
        Files.writeString(processor, "{\"do_resize\":true,\"do_resize\":false}");
        assertTrue(refused(processor, () -> Lvlm.load(copy)).contains("'do_resize' twice"));
        Files.delete(processor);
        Path index = copy.resolve("model.safetensors.index.json");
        Files.writeString(index, "{\"weight_map\":" + "[".repeat(5000) + "}");
        assertTrue(refused(index, () -> Lvlm.load(copy)).contains("deeper than"));
    }

    @Test
    void numbersKeepTheirTextSoReadersCanTellWholeFromFractional() throws Exception {
        var json = JsonFiles.parseObject("x", "{\"a\":2.5,\"b\":99999999999999999999,\"c\":1e-05,\"d\":NaN}");
        assertEquals("2.5", json.get("a").getAsString());
        assertEquals("99999999999999999999", json.get("b").getAsString());
        assertEquals(1e-05, json.get("c").getAsDouble());
        assertTrue(Double.isNaN(json.get("d").getAsDouble()), "NaN is read so that the field's reader can name it");
    }
}
