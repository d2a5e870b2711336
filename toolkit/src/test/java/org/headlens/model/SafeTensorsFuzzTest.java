package org.headlens.model;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.ndarray.NDManager;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.headlens.Fixtures;
import org.headlens.HeadlensException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Thousands of randomly mutated copies of a fixture checkpoint: each must either read cleanly
 * or fail with a one-line error naming the file, never crash, hang or exhaust memory.
 */
class SafeTensorsFuzzTest {
    private static final int MUTATIONS = 3000;

    @Test
    void mutatedCheckpointsReadOrFailCleanly(@TempDir Path dir) throws Exception {
        byte[] original = Files.readAllBytes(Fixtures.model("llava-clip-llama").resolve("model.safetensors"));
        int headerLength = (int) ByteBuffer.wrap(original, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        Random random = new Random(20261125);
        int[] outcomes = new int[2];
        assertTimeoutPreemptively(Duration.ofMinutes(5), () -> {
            for (int i = 0; i < MUTATIONS; i++) {
                int kind = i % 8;
                byte[] mutated = mutate(original, headerLength, kind, random);
                Path file = dir.resolve("mutated-" + i + ".safetensors");
                Files.write(file, mutated);
                try (NDManager manager = NDManager.newBaseManager()) {
                    SafeTensors tensors = SafeTensors.open(file);
                    for (String name : tensors.entries().keySet()) {
                        tensors.read(name, manager).close();
                    }
                    outcomes[0]++;
                } catch (HeadlensException e) {
                    assertTrue(e.getMessage().startsWith(file.toString()), "the error names the file: " + e.getMessage());
                    assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
                    outcomes[1]++;
                } catch (Throwable e) {
                    fail("mutation " + i + " (kind " + kind + ") escaped as " + e, e);
                }
                Files.delete(file);
            }
        });
        System.out.printf("fuzz: %d mutated files read, %d refused cleanly%n", outcomes[0], outcomes[1]);
        assertTrue(outcomes[1] > MUTATIONS / 2, "most mutations are caught: " + outcomes[1]);
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
            default: { // the header length set to a random value
                long length = random.nextBoolean() ? random.nextLong() : random.nextInt(bytes.length * 2);
                ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(length);
                return bytes;
            }
        }
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
