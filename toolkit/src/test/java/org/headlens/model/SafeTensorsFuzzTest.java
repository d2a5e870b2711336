package org.headlens.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.headlens.Fixtures;
import org.headlens.HeadlensException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Thousands of randomly mutated copies of a fixture checkpoint: each must either read cleanly
 * or fail with a one-line error naming the file, never crash, hang or exhaust memory, and give
 * the same outcome with its header's entries in the opposite order. Duplicated names and
 * fractional or oversized dimensions are always refused; empty tensors are always accepted.
 */
class SafeTensorsFuzzTest {
    private static final int MUTATIONS = 3300;
    private static final int KINDS = 11;

    @Test
    void mutatedCheckpointsReadOrFailCleanly(@TempDir Path dir) throws Exception {
        byte[] original = Files.readAllBytes(Fixtures.model("llava-clip-llama").resolve("model.safetensors"));
        int headerLength = (int) ByteBuffer.wrap(original, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        Random random = new Random(20261125);
        int[] outcomes = new int[3];
        int[] refusedByKind = new int[KINDS];
        assertTimeoutPreemptively(Duration.ofMinutes(5), () -> {
            for (int i = 0; i < MUTATIONS; i++) {
                int kind = i % KINDS;
                byte[] mutated = mutate(original, headerLength, kind, random);
                Path file = dir.resolve("mutated-" + i + ".safetensors");
                Files.write(file, mutated);
                boolean read = readsCleanly(file, i, kind);
                outcomes[read ? 0 : 1]++;
                refusedByKind[kind] += read ? 0 : 1;
                // the same entries in the opposite order must give the same outcome
                byte[] reversed = reversedHeader(mutated);
                if (reversed != null) {
                    Files.write(file, reversed);
                    assertEquals(read, readsCleanly(file, i, kind), "mutation " + i + " (kind " + kind + ") depends on the header's order");
                    outcomes[2]++;
                }
                Files.delete(file);
            }
        });
        System.out.printf("fuzz: %d mutated files read, %d refused cleanly, %d also read in reverse header order%n",
                outcomes[0], outcomes[1], outcomes[2]);
        assertTrue(outcomes[1] > MUTATIONS / 2, "most mutations are caught: " + outcomes[1]);
        assertTrue(outcomes[2] > MUTATIONS / 3, "the order check ran: " + outcomes[2]);
        int perKind = MUTATIONS / KINDS;
        assertEquals(perKind, refusedByKind[8], "a tensor named twice is always refused");
        assertEquals(perKind, refusedByKind[9], "a dimension that is fractional or beyond 64 bits is always refused");
        assertEquals(0, refusedByKind[10], "an empty tensor inside the data section is always accepted");
    }

    /** Opens a file and reads every tensor; false when it is refused with a clean one-line error. */
    private static boolean readsCleanly(Path file, int i, int kind) {
        try (NDManager manager = NDManager.newBaseManager()) {
            SafeTensors tensors = SafeTensors.open(file);
            for (SafeTensors.Entry entry : tensors.entries().values()) {
                NDArray tensor = tensors.read(entry.name(), manager);
                assertEquals(entry.size(), tensor.size(), entry.name());
                tensor.close();
            }
            return true;
        } catch (HeadlensException e) {
            assertTrue(e.getMessage().startsWith(file.toString()), "the error names the file: " + e.getMessage());
            assertTrue(!e.getMessage().contains("\n") && e.getMessage().length() < 1000, "one line: " + e.getMessage());
            return false;
        } catch (Throwable e) {
            fail("mutation " + i + " (kind " + kind + ") escaped as " + e, e);
            return false;
        }
    }

    /** The file with its header's entries in reverse order, or null when the header is not a JSON object without duplicates. */
    private static byte[] reversedHeader(byte[] bytes) {
        if (bytes.length < 8) {
            return null;
        }
        long length = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (length < 2 || length > bytes.length - 8) {
            return null;
        }
        JsonElement header;
        try {
            header = JsonFiles.parse(new String(bytes, 8, (int) length, StandardCharsets.UTF_8));
        } catch (JsonFiles.Malformed e) {
            return null;
        }
        if (!header.isJsonObject() || header.getAsJsonObject().size() < 2) {
            return null;
        }
        List<Map.Entry<String, JsonElement>> entries = new ArrayList<>(header.getAsJsonObject().entrySet());
        Collections.reverse(entries);
        JsonObject reversed = new JsonObject();
        entries.forEach(e -> reversed.add(e.getKey(), e.getValue()));
        byte[] text = reversed.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(8 + text.length + bytes.length - 8 - (int) length).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(text.length).put(text).put(bytes, 8 + (int) length, bytes.length - 8 - (int) length);
        return out.array();
    }

    private static byte[] mutate(byte[] original, int headerLength, int kind, Random random) {
        byte[] bytes = original.clone();
        switch (kind) {
            case 0: // a random byte of the JSON header
                bytes[8 + random.nextInt(headerLength)] = (byte) random.nextInt(256);
                return bytes;
            case 1: // the header length prefix
                bytes[random.nextInt(8)] = (byte) random.nextInt(256);
                return bytes;
            case 2: // truncated anywhere
                return Arrays.copyOf(bytes, random.nextInt(bytes.length));
            case 3: { // a number in the header replaced by a huge, negative or shifted one
                String header = new String(bytes, 8, headerLength, StandardCharsets.ISO_8859_1);
                java.util.regex.Matcher number = java.util.regex.Pattern.compile("\\d+").matcher(header);
                int count = 0;
                while (number.find()) {
                    count++;
                }
                int target = random.nextInt(Math.max(1, count));
                number.reset();
                StringBuilder out = new StringBuilder();
                int n = 0;
                while (number.find()) {
                    String replacement = n++ == target ? new String[] {"99999999999999999999", "-1", "0",
                        String.valueOf(Long.parseLong(number.group().length() > 18 ? "1" : number.group()) + 1 + random.nextInt(64)),
                        "9223372036854775807"}[random.nextInt(5)] : number.group();
                    number.appendReplacement(out, replacement);
                }
                number.appendTail(out);
                return withHeader(original, headerLength, out.toString());
            }
            case 4: { // a dtype changed
                String header = new String(bytes, 8, headerLength, StandardCharsets.ISO_8859_1);
                String[] dtypes = {"F32", "F16", "BF16", "I64", "U8", "BOOL", "F8_E4M3", "Q4", ""};
                return withHeader(original, headerLength, header.replaceFirst("\"F32\"", "\"" + dtypes[random.nextInt(dtypes.length)] + "\""));
            }
            case 5: { // a character of the header deleted
                String header = new String(bytes, 8, headerLength, StandardCharsets.ISO_8859_1);
                int at = random.nextInt(header.length());
                return withHeader(original, headerLength, header.substring(0, at) + header.substring(at + 1));
            }
            case 6: { // garbage appended
                byte[] longer = Arrays.copyOf(bytes, bytes.length + 1 + random.nextInt(4096));
                for (int i = bytes.length; i < longer.length; i++) {
                    longer[i] = (byte) random.nextInt(256);
                }
                return longer;
            }
            case 7: { // the header length set to a random value
                long length = random.nextBoolean() ? random.nextLong() : random.nextInt(bytes.length * 2);
                ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(length);
                return bytes;
            }
            case 8: { // one entry repeated under the same name, anywhere in the header
                String header = new String(bytes, 8, headerLength, StandardCharsets.ISO_8859_1).strip();
                List<String> entries = entries(header);
                String copy = entries.get(random.nextInt(entries.size()));
                entries.add(random.nextInt(entries.size() + 1), copy);
                return withHeader(original, headerLength, "{" + String.join(",", entries) + "}");
            }
            case 9: { // one dimension made fractional, an exponent or wider than 64 bits
                String header = new String(bytes, 8, headerLength, StandardCharsets.ISO_8859_1);
                java.util.regex.Matcher shape = java.util.regex.Pattern.compile("\"shape\":\\[(\\d+)").matcher(header);
                List<Integer> starts = new ArrayList<>();
                while (shape.find()) {
                    starts.add(shape.start(1));
                }
                int at = starts.get(random.nextInt(starts.size()));
                int end = at;
                while (Character.isDigit(header.charAt(end))) {
                    end++;
                }
                String digits = header.substring(at, end);
                String replacement = new String[] {digits + ".5", digits + ".0", digits + "e0", "18446744073709551616" + digits,
                    "-" + digits, "1" + "0".repeat(30)}[random.nextInt(6)];
                return withHeader(original, headerLength, header.substring(0, at) + replacement + header.substring(end));
            }
            default: { // an empty tensor, at a random offset inside the data, anywhere in the header
                String header = new String(bytes, 8, headerLength, StandardCharsets.ISO_8859_1).strip();
                List<String> entries = entries(header);
                long offset = random.nextInt(bytes.length - 8 - headerLength + 1);
                String shape = new String[] {"[0]", "[0,16]", "[16,0]", "[3,0,2]"}[random.nextInt(4)];
                String dtype = new String[] {"F32", "F16", "BF16", "I64"}[random.nextInt(4)];
                entries.add(random.nextInt(entries.size() + 1), "\"empty." + random.nextInt(1000) + "\":{\"dtype\":\"" + dtype
                        + "\",\"shape\":" + shape + ",\"data_offsets\":[" + offset + "," + offset + "]}");
                return withHeader(original, headerLength, "{" + String.join(",", entries) + "}");
            }
        }
    }

    /** The top-level entries of a header as text ("name":{...}), in order. */
    private static List<String> entries(String header) {
        JsonObject json = com.google.gson.JsonParser.parseString(header).getAsJsonObject();
        List<String> entries = new ArrayList<>();
        json.entrySet().forEach(e -> entries.add(new com.google.gson.JsonPrimitive(e.getKey()) + ":" + e.getValue()));
        return entries;
    }

    /** The file with a new header text, its length prefix updated and the data section unchanged. */
    private static byte[] withHeader(byte[] original, int headerLength, String header) {
        byte[] text = header.getBytes(StandardCharsets.ISO_8859_1);
        byte[] data = Arrays.copyOfRange(original, 8 + headerLength, original.length);
        ByteBuffer out = ByteBuffer.allocate(8 + text.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(text.length).put(text).put(data);
        return out.array();
    }
}
