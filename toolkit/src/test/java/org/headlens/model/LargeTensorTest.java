package org.headlens.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Single tensors of more than 2^31 bytes, as real checkpoints hold (Qwen2-7B's bfloat16 embedding
 * table is 1.09 GB and 2.18 GB once widened to float32). The files are sparse: only the header and
 * a few marked elements are written, so they take almost no disk and are read from zero pages.
 * Skipped where the machine has too little memory for the 2.2 GB array.
 */
class LargeTensorTest {
    private static final long GB = 1L << 30;

    @Test
    void aTensorOfMoreThanTwoGigabytesIsReadInPieces(@TempDir Path dir) throws Exception {
        var system = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        assumeTrue(system.getFreeMemorySize() > 6 * GB, "needs 6 GB of free memory");
        assumeTrue(Files.getFileStore(dir).getUsableSpace() > 6 * GB, "needs 6 GB of disk for the sparse file's worst case");
        // float16: 1.1e9 elements, 2.2 GB; marks at both ends, around a 64 MB piece boundary and at 2^31 bytes
        long halves = 1_100_000_000L;
        long perPiece = SafeTensors.CHUNK_BYTES / 2;
        Map<Long, Float> marks = new TreeMap<>(Map.of(0L, 1f, perPiece - 1, 2f, perPiece, -2f, (1L << 30) - 1, 3f,
                1L << 30, 4f, halves - 1, -4f));
        Path f16 = sparse(dir.resolve("f16.safetensors"), "F16", halves, marks);
        try (NDManager manager = NDManager.newBaseManager()) {
            long start = System.nanoTime();
            NDArray tensor = SafeTensors.open(f16).read("big", manager);
            System.out.printf("read 2.2 GB of float16 in %.1f s%n", (System.nanoTime() - start) / 1e9);
            assertEquals(DataType.FLOAT16, tensor.getDataType());
            assertEquals(halves, tensor.size());
            checkMarks(tensor, marks);
        } finally {
            Files.delete(f16);
        }
        // bfloat16: 1.09 GB stored, widened to 2.18 GB of float32
        long bfloats = 545_000_000L;
        Map<Long, Float> bMarks = new TreeMap<>(Map.of(0L, 1f, perPiece - 1, 2f, perPiece, -2f, (1L << 29) + 1, 3f, bfloats - 1, -4f));
        Path bf16 = sparse(dir.resolve("bf16.safetensors"), "BF16", bfloats, bMarks);
        try (NDManager manager = NDManager.newBaseManager()) {
            long start = System.nanoTime();
            NDArray tensor = SafeTensors.open(bf16).read("big", manager);
            System.out.printf("read 1.09 GB of bfloat16 into float32 in %.1f s%n", (System.nanoTime() - start) / 1e9);
            assertEquals(DataType.FLOAT32, tensor.getDataType());
            assertEquals(bfloats, tensor.size());
            checkMarks(tensor, bMarks);
        } finally {
            Files.delete(bf16);
        }
    }

    private static void checkMarks(NDArray tensor, Map<Long, Float> marks) {
        for (Map.Entry<Long, Float> mark : marks.entrySet()) {
            float value = tensor.get(mark.getKey()).toType(DataType.FLOAT32, false).getFloat();
            assertEquals(mark.getValue(), value, "element " + mark.getKey());
        }
        assertEquals(marks.values().stream().mapToDouble(Float::doubleValue).sum(),
                tensor.sum().toType(DataType.FLOAT32, false).getFloat(), 1e-3, "every other element is 0");
    }

    /** A safetensors file with one 1-D tensor of zeros except at {@code marks}, written sparsely. */
    private static Path sparse(Path file, String dtype, long elements, Map<Long, Float> marks) throws Exception {
        String header = "{\"big\":{\"dtype\":\"" + dtype + "\",\"shape\":[" + elements + "],\"data_offsets\":[0," + elements * 2 + "]}}";
        byte[] text = header.getBytes(StandardCharsets.US_ASCII);
        long dataStart = 8 + text.length;
        try (RandomAccessFile out = new RandomAccessFile(file.toFile(), "rw")) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(text.length).array());
            out.write(text);
            out.setLength(dataStart + elements * 2);
            for (Map.Entry<Long, Float> mark : marks.entrySet()) {
                int bits = Float.floatToIntBits(mark.getValue());
                // the marks are exact in both 16-bit types
                int half = dtype.equals("BF16") ? bits >>> 16
                        : (bits >>> 16 & 0x8000) | ((bits >>> 23 & 0xff) - 112) << 10 | (bits & 0x7fffff) >>> 13;
                out.seek(dataStart + mark.getKey() * 2);
                out.write(half & 0xff);
                out.write((half >>> 8) & 0xff);
            }
        }
        return file;
    }
}
