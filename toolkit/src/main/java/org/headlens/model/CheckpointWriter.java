package org.headlens.model;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.headlens.HeadlensException;

/**
 * Writes a randomly initialised checkpoint with the layout of a public release: its config.json,
 * the same parameter names, shapes and dtype, sharded the same way, with
 * {@code model.safetensors.index.json}. Values are generated and written a piece at a time, so
 * writing a 26 GB checkpoint takes a few megabytes of memory.
 *
 * <p>Values are seeded per tensor (by the seed and the tensor's name), so a slice holds the same
 * values as the whole checkpoint for the tensors they share. Matrices are uniform with standard
 * deviation 1/sqrt(fan-in), norm scales 1 and biases 0, which keeps every activation of a forward
 * pass in the range of float16.
 */
public final class CheckpointWriter {
    /** Bytes generated and written at once. */
    static final int PIECE_BYTES = 8 << 20;

    /** Dtypes a checkpoint can be written in, as {@code --dtype} and config.json spell them. */
    public static final List<String> DTYPES = List.of("float16", "bfloat16", "float32");

    private CheckpointWriter() {
    }

    /**
     * What a written (or planned) checkpoint holds.
     *
     * @param config its config.json text
     * @param shards parameters by shard
     * @param dtype the safetensors dtype of every tensor (F16, BF16 or F32)
     * @param totalBytes bytes of tensor data, as the index's {@code metadata.total_size}
     */
    public record Layout(String config, List<List<Release.Parameter>> shards, String dtype, long totalBytes) {
        /** @return the file names of the shards, in order */
        public List<String> shardNames() {
            List<String> names = new ArrayList<>();
            for (int i = 0; i < shards.size(); i++) {
                names.add(Release.shardName(i + 1, shards.size()));
            }
            return names;
        }

        /** @return the index JSON, as {@code save_pretrained} writes it (keys sorted, two-space indent) */
        public String indexText() {
            JsonObject index = new JsonObject();
            JsonObject metadata = new JsonObject();
            metadata.addProperty("total_size", totalBytes);
            index.add("metadata", metadata);
            JsonObject map = new JsonObject();
            Release.weightMap(shards).forEach(map::addProperty);
            index.add("weight_map", map);
            return new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(index) + "\n";
        }

        /** @return number of parameters (elements) */
        public long parameterCount() {
            return shards.stream().flatMap(List::stream).mapToLong(Release.Parameter::size).sum();
        }
    }

    /**
     * Plans a checkpoint without writing anything.
     *
     * @param release the release whose layout is copied
     * @param dtype {@code float16}, {@code bfloat16} or {@code float32}
     * @param layers decoder and vision layers kept (a slice), or 0 for all
     * @param maxShardBytes largest shard, or 0 for the release's own
     * @return names, shapes, shards and config
     */
    public static Layout plan(Release release, String dtype, int layers, long maxShardBytes) {
        if (!DTYPES.contains(dtype)) {
            throw new HeadlensException("dtype '" + dtype + "' cannot be written; use one of " + DTYPES);
        }
        String config = release.configText(layers, dtype);
        ModelConfig parsed = ModelConfig.parse(Path.of(release.name() + "/config.json"), Release.object(config));
        List<Release.Parameter> parameters = Release.parameters(parsed);
        String safetensorsType = dtype.equals("float16") ? "F16" : dtype.equals("bfloat16") ? "BF16" : "F32";
        int bytes = SafeTensors.elementSize(safetensorsType);
        List<List<Release.Parameter>> shards = Release.shards(parameters, bytes, maxShardBytes > 0 ? maxShardBytes : release.maxShardBytes());
        long total = parameters.stream().mapToLong(p -> p.size() * bytes).sum();
        return new Layout(config, shards, safetensorsType, total);
    }

    /**
     * Writes the planned checkpoint into a folder (which the caller has checked is new or empty).
     *
     * @param layout what to write
     * @param folder destination
     * @param seed seed of the values
     * @param log progress, one line per shard (or null)
     */
    public static void write(Layout layout, Path folder, long seed, PrintStream log) {
        long needed = layout.totalBytes() + 64L * 1024 * 1024;
        try {
            Files.createDirectories(folder);
            long usable = Files.getFileStore(folder).getUsableSpace();
            if (usable < needed) {
                throw new HeadlensException(folder + ": writing this checkpoint needs " + Memory.gigabytes(needed)
                        + " of disk, but only " + Memory.gigabytes(usable) + " is free there");
            }
            Files.writeString(folder.resolve("config.json"), layout.config());
            List<String> names = layout.shardNames();
            for (int i = 0; i < names.size(); i++) {
                long start = System.nanoTime();
                writeShard(folder.resolve(names.get(i)), layout.shards().get(i), layout.dtype(), seed);
                if (log != null) {
                    log.printf(Locale.ROOT, "  %s: %d tensors, %s, %.1f s%n", names.get(i), layout.shards().get(i).size(),
                            Memory.gigabytes(Files.size(folder.resolve(names.get(i)))), (System.nanoTime() - start) / 1e9);
                }
            }
            if (names.size() > 1) {
                Files.writeString(folder.resolve("model.safetensors.index.json"), layout.indexText());
            }
        } catch (IOException e) {
            throw new HeadlensException(folder + ": cannot write the checkpoint (" + e.getMessage() + ")", e);
        }
    }

    /**
     * The header of one shard: tensors sorted by name (as the safetensors library stores them),
     * laid out one after another, padded with spaces to a multiple of 8 bytes.
     *
     * @param parameters the shard's parameters
     * @param dtype safetensors dtype
     * @return header bytes and the parameters in file order
     */
    static Map.Entry<byte[], List<Release.Parameter>> header(List<Release.Parameter> parameters, String dtype) {
        List<Release.Parameter> sorted = new ArrayList<>(parameters);
        sorted.sort(Comparator.comparing(Release.Parameter::name));
        JsonObject header = new JsonObject();
        JsonObject metadata = new JsonObject();
        metadata.addProperty("format", "pt");
        header.add("__metadata__", metadata);
        long offset = 0;
        int bytes = SafeTensors.elementSize(dtype);
        for (Release.Parameter parameter : sorted) {
            JsonObject entry = new JsonObject();
            entry.addProperty("dtype", dtype);
            JsonArray shape = new JsonArray();
            for (long d : parameter.shape()) {
                shape.add(d);
            }
            entry.add("shape", shape);
            JsonArray offsets = new JsonArray();
            offsets.add(offset);
            offset += parameter.size() * bytes;
            offsets.add(offset);
            entry.add("data_offsets", offsets);
            header.add(parameter.name(), entry);
        }
        byte[] text = header.toString().getBytes(StandardCharsets.UTF_8);
        byte[] padded = new byte[(text.length + 7) / 8 * 8];
        java.util.Arrays.fill(padded, (byte) ' ');
        System.arraycopy(text, 0, padded, 0, text.length);
        return Map.entry(padded, sorted);
    }

    private static void writeShard(Path file, List<Release.Parameter> parameters, String dtype, long seed) throws IOException {
        Map.Entry<byte[], List<Release.Parameter>> header = header(parameters, dtype);
        Path temporary = file.resolveSibling(file.getFileName() + ".partial");
        ByteBuffer piece = ByteBuffer.allocateDirect(PIECE_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer start = ByteBuffer.allocate(8 + header.getKey().length).order(ByteOrder.LITTLE_ENDIAN);
            start.putLong(header.getKey().length).put(header.getKey()).flip();
            writeFully(channel, start);
            for (Release.Parameter parameter : header.getValue()) {
                writeTensor(channel, parameter, dtype, seed, piece);
            }
        }
        Files.move(temporary, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private static void writeTensor(FileChannel channel, Release.Parameter parameter, String dtype, long seed, ByteBuffer piece)
            throws IOException {
        long[] shape = parameter.shape();
        String name = parameter.name();
        boolean vector = shape.length == 1;
        // 1-D ".weight" tensors are norm scales in every supported family
        float constant = vector && name.endsWith(".weight") ? 1f : name.endsWith(".bias") ? 0f : Float.NaN;
        long fanIn = vector ? 1 : parameter.size() / shape[0];
        double std = vector ? 0.5 : 1.0 / Math.sqrt(fanIn);
        double halfWidth = Math.sqrt(3.0) * std;
        SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + name.hashCode());
        int elementSize = SafeTensors.elementSize(dtype);
        long remaining = parameter.size();
        while (remaining > 0) {
            int count = (int) Math.min(remaining, piece.capacity() / elementSize);
            piece.clear();
            for (int i = 0; i < count; i++) {
                float value = Float.isNaN(constant) ? (float) ((2 * random.nextDouble() - 1) * halfWidth) : constant;
                if (elementSize == 4) {
                    piece.putFloat(value);
                } else {
                    piece.putShort(dtype.equals("F16") ? toFloat16(value) : toBfloat16(value));
                }
            }
            piece.flip();
            writeFully(channel, piece);
            remaining -= count;
        }
    }

    private static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    /**
     * The IEEE half-precision value nearest to a float (ties to even), as PyTorch converts; values
     * beyond the half range become infinite.
     *
     * @param value a float
     * @return its float16 bits
     */
    public static short toFloat16(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int exponent = ((bits >>> 23) & 0xff) - 127 + 15;
        int mantissa = bits & 0x7fffff;
        if (((bits >>> 23) & 0xff) == 0xff) {
            return (short) (sign | 0x7c00 | (mantissa != 0 ? 0x200 : 0));
        }
        if (exponent >= 31) {
            return (short) (sign | 0x7c00);
        }
        if (exponent <= 0) {
            if (exponent < -10) {
                return (short) sign;
            }
            int full = mantissa | 0x800000;
            int shift = 14 - exponent;
            int half = full >> shift;
            int rest = full & ((1 << shift) - 1);
            int halfway = 1 << (shift - 1);
            if (rest > halfway || (rest == halfway && (half & 1) == 1)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = (exponent << 10) | (mantissa >> 13);
        int rest = mantissa & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) {
            // a carry out of the mantissa raises the exponent, up to infinity: still the nearest value
            half++;
        }
        return (short) (sign | half);
    }

    /**
     * The bfloat16 value nearest to a float (ties to even).
     *
     * @param value a finite float
     * @return its bfloat16 bits
     */
    public static short toBfloat16(float value) {
        int bits = Float.floatToRawIntBits(value);
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
