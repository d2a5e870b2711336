package org.headlens.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.headlens.HeadlensException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Safetensors headers that a lenient reader would misread, and tensors read in pieces. */
class SafeTensorsHeaderTest {
    /** A file with this header text and {@code dataBytes} bytes of data (1, 2, 3, ...). */
    private static Path file(Path dir, String header, int dataBytes) throws Exception {
        byte[] text = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(8 + text.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(text.length).put(text);
        for (int i = 0; i < dataBytes; i++) {
            out.put((byte) (i + 1));
        }
        Path file = Files.createTempFile(dir, "header", ".safetensors");
        Files.write(file, out.array());
        return file;
    }

    private static String refused(Path file) {
        HeadlensException e = assertThrows(HeadlensException.class, () -> SafeTensors.open(file));
        assertTrue(e.getMessage().startsWith(file + ": not a valid safetensors file: "), e.getMessage());
        assertTrue(!e.getMessage().contains("\n") && e.getMessage().length() < 300, e.getMessage());
        return e.getMessage();
    }

    @Test
    void aTensorNamedTwiceIsRefusedRatherThanTheLastOneWinning(@TempDir Path dir) throws Exception {
        Path file = file(dir, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
        assertTrue(refused(file).contains("'w' twice"));
        Path nested = file(dir, "{\"w\":{\"dtype\":\"F32\",\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        assertTrue(refused(nested).contains("'w.dtype' twice"));
    }

    @Test
    void dimensionsAndOffsetsMustBeWholeNonNegativeNumbersThatFitInSixtyFourBits(@TempDir Path dir) throws Exception {
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("[2.5]", "not a whole number");
        expected.put("[2.0]", "not a whole number");
        expected.put("[1e1]", "not a whole number");
        expected.put("[-1]", "negative");
        expected.put("[-0]", "negative");
        expected.put("[\"2\"]", "not a number");
        expected.put("[[2]]", "not a number");
        expected.put("[null]", "not a number");
        expected.put("[18446744073709551617]", "beyond 64 bits");
        expected.put("[99999999999999999999999999]", "beyond 64 bits");
        // products and byte sizes that overflow, in either order of the factors
        expected.put("[4294967296, 4294967296]", "too large to address");
        expected.put("[4611686018427387904, 1]", "too large to address");
        expected.put("[2305843009213693952, 2]", "too large to address");
        expected.put("[1, 3037000500, 3037000500]", "too large to address");
        for (Map.Entry<String, String> shape : expected.entrySet()) {
            Path file = file(dir, "{\"w\":{\"dtype\":\"F32\",\"shape\":" + shape.getKey() + ",\"data_offsets\":[0,8]}}", 8);
            String message = refused(file);
            assertTrue(message.contains("'w'") && message.contains(shape.getValue()), shape.getKey() + ": " + message);
        }
        for (String offsets : List.of("[0.5,8]", "[0,8.0]", "[-8,0]", "[0,18446744073709551616]", "[0]", "[0,8,9]", "\"0,8\"")) {
            Path file = file(dir, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":" + offsets + "}}", 8);
            assertTrue(refused(file).contains("'w'"), offsets);
        }
    }

    @Test
    void anEmptyTensorIsReadTheSameWhateverTheHeaderOrder(@TempDir Path dir) throws Exception {
        List<String> entries = List.of(
                "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}",
                "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[8,8]}",
                "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}",
                "\"inside\":{\"dtype\":\"F16\",\"shape\":[0],\"data_offsets\":[4,4]}",
                "\"start\":{\"dtype\":\"F32\",\"shape\":[3,0],\"data_offsets\":[0,0]}",
                "\"end\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[16,16]}");
        Random random = new Random(7);
        for (int trial = 0; trial < 40; trial++) {
            List<String> order = new ArrayList<>(entries);
            Collections.shuffle(order, random);
            Path file = file(dir, "{" + String.join(",", order) + "}", 16);
            SafeTensors tensors = SafeTensors.open(file);
            assertEquals(6, tensors.entries().size(), String.join(",", order));
            try (NDManager manager = NDManager.newBaseManager()) {
                NDArray empty = tensors.read("empty", manager);
                assertEquals(new Shape(0, 4), empty.getShape());
                assertEquals(new Shape(3, 0), tensors.read("start", manager).getShape());
                assertEquals(2, tensors.read("b", manager).size());
            }
        }
        // an empty range beyond the data is still refused, in any order
        Path outside = file(dir, "{\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[17,17]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16);
        assertTrue(refused(outside).contains("outside the data section"));
    }

    @Test
    void weightsMustBeFloatingPointWhateverTheirBytesAre(@TempDir Path dir) throws Exception {
        Path copy = ModelCopies.withWeights(ModelCopies.TINY, dir.resolve("int"), (manager, tensors) -> { });
        Path weights = copy.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(weights);
        int length = (int) ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(bytes, 8, length, StandardCharsets.UTF_8);
        String name = "language_model.model.norm.weight";
        int at = header.indexOf("\"" + name + "\"");
        int dtype = header.indexOf("\"F32\"", at);
        String relabelled = header.substring(0, dtype) + "\"I32\"" + header.substring(dtype + 5);
        ByteBuffer out = ByteBuffer.allocate(bytes.length).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(length).put(relabelled.getBytes(StandardCharsets.UTF_8)).put(bytes, 8 + length, bytes.length - 8 - length);
        Files.write(weights, out.array());
        HeadlensException e = assertThrows(HeadlensException.class, () -> Lvlm.load(copy));
        assertEquals(weights + ": tensor '" + name + "' has dtype I32, expected a floating point type (BF16, F16, F32, F64)", e.getMessage());
    }

    @Test
    void aShardIndexMustMapTensorsToFileNamesInsideTheFolder(@TempDir Path dir) throws Exception {
        Path copy = ModelCopies.withWeights(ModelCopies.TINY, dir.resolve("model"), (manager, tensors) -> { });
        Files.move(copy.resolve("model.safetensors"), copy.resolve("model-00001-of-00001.safetensors"));
        Files.writeString(dir.resolve("outside.safetensors"), "not read");
        Path index = copy.resolve("model.safetensors.index.json");
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("{\"weight_map\":{\"a\":5}}", "weight_map entry 'a' is 5, expected the file name of a shard");
        expected.put("{\"weight_map\":{\"a\":{\"b\":1}}}", "weight_map entry 'a' is {\"b\":1}");
        expected.put("{\"weight_map\":{\"a\":[\"x\"]}}", "weight_map entry 'a' is [\"x\"]");
        expected.put("{\"weight_map\":{\"a\":null}}", "weight_map entry 'a' is null");
        expected.put("{\"weight_map\":[\"model-00001-of-00001.safetensors\"]}", "no weight_map object");
        expected.put("{\"weight_map\":{}}", "names no shard");
        expected.put("{\"weight_map\":{\"a\":\"../outside.safetensors\"}}", "not a file name inside the model folder");
        expected.put("{\"weight_map\":{\"a\":\"" + dir.resolve("outside.safetensors") + "\"}}", "not a file name inside the model folder");
        expected.put("{\"weight_map\":{\"a\":\"..\"}}", "not a file name inside the model folder");
        expected.put("{\"weight_map\":{\"a\":\"\"}}", "not a file name inside the model folder");
        expected.put("{\"weight_map\":{\"a\":\"sub/model.safetensors\"}}", "not a file name inside the model folder");
        expected.put("{\"weight_map\":{\"a\":\"x\\u0000y\"}}", "not a file name inside the model folder");
        for (Map.Entry<String, String> text : expected.entrySet()) {
            Files.writeString(index, text.getKey());
            HeadlensException e = assertThrows(HeadlensException.class, () -> Lvlm.load(copy), text.getKey());
            assertTrue(e.getMessage().startsWith(index.toString()) && e.getMessage().contains(text.getValue())
                    && !e.getMessage().contains("\n"), text.getKey() + " -> " + e.getMessage());
        }
        Files.writeString(index, "{\"weight_map\":{\"x\":\"model-00001-of-00001.safetensors\"}}");
        try (Lvlm model = Lvlm.load(copy)) {
            assertEquals(6, model.config().text().layers());
        }
    }

    @Test
    void tensorsReadInPiecesEqualTensorsReadAtOnce(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("pieces.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray values = manager.randomNormal(new Shape(7, 13)).mul(1000);
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            tensors.put("f32", values);
            tensors.put("f16", values.toType(DataType.FLOAT16, false));
            tensors.put("i64", manager.arange(0, 91, 1, DataType.INT64).reshape(13, 7));
            SafeTensors.write(file, tensors, null);
            Path halves = dir.resolve("bf16.safetensors");
            SafeTensors.write(halves, Map.of("f32", values), null);
            LoadingTest.rewriteAsBfloat16(halves);
            SafeTensors stored = SafeTensors.open(file);
            SafeTensors bfloat16 = SafeTensors.open(halves);
            float[] original = values.toFloatArray();
            for (long chunk : new long[] {1, 2, 6, 12, 16, 50, 364, 1 << 20}) {
                for (String name : List.of("f32", "f16", "i64")) {
                    NDArray whole = stored.read(name, manager);
                    NDArray pieces = stored.read(name, manager, null, chunk);
                    assertEquals(whole.getShape(), pieces.getShape());
                    assertEquals(whole.getDataType(), pieces.getDataType());
                    assertArrayEquals(whole.toByteArray(), pieces.toByteArray(), name + " in pieces of " + chunk + " bytes");
                    NDArray half = stored.read(name, manager, DataType.FLOAT16, chunk);
                    NDArray expectedHalf = name.equals("i64") ? whole : whole.toType(DataType.FLOAT16, false);
                    assertArrayEquals(expectedHalf.toByteArray(), half.toByteArray(), name + " converted in pieces of " + chunk);
                }
                NDArray widened = bfloat16.read("f32", manager, null, chunk);
                assertEquals(DataType.FLOAT32, widened.getDataType());
                float[] read = widened.toFloatArray();
                assertArrayEquals(bfloat16.read("f32", manager).toFloatArray(), read, "bf16 in pieces of " + chunk);
                for (int i = 0; i < read.length; i++) {
                    // bfloat16 keeps 8 bits of mantissa: within 2^-8 of the value it was rounded from
                    assertEquals(original[i], read[i], Math.abs(original[i]) / 256, "element " + i);
                }
            }
        }
    }
}
