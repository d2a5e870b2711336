package org.headlens.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.headlens.HeadlensException;

/**
 * One {@code .safetensors} file: an 8-byte little-endian header length, a JSON header that maps
 * tensor names to dtype, shape and byte range, then the raw little-endian data.
 *
 * <p>The whole header is validated when the file is opened, before any tensor is allocated, so a
 * crafted file cannot make headlens allocate more than the file holds: every range must lie in
 * the data section, match its dtype and shape exactly, and not overlap another range.
 */
public final class SafeTensors {
    /** Headers above this are refused: real checkpoints have headers of a few hundred KB. */
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    /** One tensor's entry in the header. */
    public record Entry(String name, String dtype, long[] shape, long begin, long end) {
        /** @return the shape as a DJL {@link Shape} */
        public Shape djlShape() {
            return new Shape(shape);
        }

        /** @return number of elements */
        public long size() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private final Path file;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafeTensors(Path file, long dataStart, Map<String, Entry> entries, Map<String, String> metadata) {
        this.file = file;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    /**
     * Reads and validates the header of a safetensors file.
     *
     * @param file the file
     * @return the file's index; tensors are read on demand
     * @throws HeadlensException naming the file and the problem if the header is not valid
     */
    public static SafeTensors open(Path file) {
        long fileSize;
        byte[] headerBytes;
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            fileSize = channel.size();
            if (fileSize < 8) {
                throw bad(file, "file is " + fileSize + " bytes, shorter than the 8-byte header length");
            }
            ByteBuffer lengthBuffer = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, lengthBuffer, 0);
            long headerLength = lengthBuffer.flip().getLong();
            if (headerLength < 2 || headerLength > MAX_HEADER_BYTES || headerLength > fileSize - 8) {
                throw bad(file, "header length " + Long.toUnsignedString(headerLength)
                        + " does not fit the file (" + fileSize + " bytes, at most "
                        + MAX_HEADER_BYTES + " bytes of header accepted)");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLength);
            readFully(channel, header, 8);
            headerBytes = header.array();
        } catch (java.nio.file.NoSuchFileException e) {
            throw new HeadlensException(file + ": file not found");
        } catch (IOException e) {
            throw new HeadlensException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        long dataStart = 8L + headerBytes.length;
        return parseHeader(file, headerBytes, dataStart, fileSize - dataStart);
    }

    private static SafeTensors parseHeader(Path file, byte[] headerBytes, long dataStart, long dataLength) {
        JsonObject json;
        try {
            JsonElement parsed = JsonParser.parseString(new String(headerBytes, StandardCharsets.UTF_8));
            if (!parsed.isJsonObject()) {
                throw bad(file, "header is not a JSON object");
            }
            json = parsed.getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw bad(file, "header is not valid JSON (" + firstLine(e.getMessage()) + ")");
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> field : json.entrySet()) {
            String name = field.getKey();
            if (name.equals("__metadata__")) {
                if (field.getValue().isJsonObject()) {
                    for (Map.Entry<String, JsonElement> m : field.getValue().getAsJsonObject().entrySet()) {
                        metadata.put(m.getKey(), m.getValue().isJsonPrimitive() ? m.getValue().getAsString() : m.getValue().toString());
                    }
                }
                continue;
            }
            entries.put(name, parseEntry(file, name, field.getValue(), dataLength));
        }
        List<Entry> byOffset = new ArrayList<>(entries.values());
        byOffset.sort(Comparator.comparingLong(Entry::begin));
        for (int i = 1; i < byOffset.size(); i++) {
            Entry previous = byOffset.get(i - 1);
            Entry current = byOffset.get(i);
            if (current.begin() < previous.end()) {
                throw bad(file, "tensors '" + previous.name() + "' and '" + current.name() + "' overlap in the data section");
            }
        }
        return new SafeTensors(file, dataStart, Collections.unmodifiableMap(entries), Collections.unmodifiableMap(metadata));
    }

    private static Entry parseEntry(Path file, String name, JsonElement value, long dataLength) {
        try {
            JsonObject object = value.getAsJsonObject();
            String dtype = object.get("dtype").getAsString();
            int elementSize = elementSize(dtype);
            if (elementSize < 0) {
                throw bad(file, "tensor '" + name + "' has unsupported dtype " + dtype
                        + " (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
            }
            var shapeArray = object.get("shape").getAsJsonArray();
            long[] shape = new long[shapeArray.size()];
            long elements = 1;
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeArray.get(i).getAsLong();
                if (shape[i] < 0) {
                    throw bad(file, "tensor '" + name + "' has a negative dimension");
                }
                elements = Math.multiplyExact(elements, shape[i]);
            }
            var offsets = object.get("data_offsets").getAsJsonArray();
            if (offsets.size() != 2) {
                throw bad(file, "tensor '" + name + "' has data_offsets with " + offsets.size() + " entries, expected 2");
            }
            long begin = offsets.get(0).getAsLong();
            long end = offsets.get(1).getAsLong();
            if (begin < 0 || end < begin || end > dataLength) {
                throw bad(file, "tensor '" + name + "' has byte range [" + begin + ", " + end
                        + ") outside the data section of " + dataLength + " bytes");
            }
            long expected = Math.multiplyExact(elements, (long) elementSize);
            if (end - begin != expected) {
                throw bad(file, "tensor '" + name + "' has " + (end - begin) + " bytes but its dtype " + dtype
                        + " and shape " + java.util.Arrays.toString(shape) + " need " + expected);
            }
            return new Entry(name, dtype, shape, begin, end);
        } catch (HeadlensException e) {
            throw e;
        } catch (ArithmeticException e) {
            throw bad(file, "tensor '" + name + "' has a shape too large to address");
        } catch (RuntimeException e) {
            throw bad(file, "tensor '" + name + "' has a malformed header entry (needs dtype, shape and data_offsets)");
        }
    }

    /** @return bytes per element of a safetensors dtype, or -1 if unsupported */
    static int elementSize(String dtype) {
        switch (dtype) {
            case "F64": case "I64": return 8;
            case "F32": case "I32": return 4;
            case "F16": case "BF16": case "I16": return 2;
            case "I8": case "U8": case "BOOL": return 1;
            default: return -1;
        }
    }

    private static DataType djlType(String dtype) {
        switch (dtype) {
            case "F64": return DataType.FLOAT64;
            case "F32": return DataType.FLOAT32;
            case "F16": return DataType.FLOAT16;
            case "I64": return DataType.INT64;
            case "I32": return DataType.INT32;
            case "I16": return DataType.INT16;
            case "I8": return DataType.INT8;
            case "U8": return DataType.UINT8;
            case "BOOL": return DataType.BOOLEAN;
            default: throw new IllegalArgumentException(dtype);
        }
    }

    private static String safetensorsType(DataType type) {
        switch (type) {
            case FLOAT64: return "F64";
            case FLOAT32: return "F32";
            case FLOAT16: return "F16";
            case INT64: return "I64";
            case INT32: return "I32";
            case INT16: return "I16";
            case INT8: return "I8";
            case UINT8: return "U8";
            case BOOLEAN: return "BOOL";
            default: throw new IllegalArgumentException("no safetensors dtype for " + type);
        }
    }

    /** @return the file this index was read from */
    public Path file() {
        return file;
    }

    /** @return every tensor entry, in header order */
    public Map<String, Entry> entries() {
        return entries;
    }

    /** @return the optional {@code __metadata__} string map */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * Reads one tensor into native memory owned by {@code manager}, in its stored dtype.
     *
     * @param name tensor name
     * @param manager owner of the new array
     * @return the tensor
     */
    public NDArray read(String name, NDManager manager) {
        Entry entry = entries.get(name);
        if (entry == null) {
            throw new HeadlensException(file + ": no tensor named '" + name + "'");
        }
        long length = entry.end() - entry.begin();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buffer;
            if (length > Integer.MAX_VALUE - 64) {
                throw new HeadlensException(file + ": tensor '" + name + "' is over 2 GB; split the checkpoint into shards");
            }
            buffer = ByteBuffer.allocateDirect((int) Math.max(length, 1)).order(ByteOrder.LITTLE_ENDIAN);
            buffer.limit((int) length);
            readFully(channel, buffer, dataStart + entry.begin());
            buffer.flip();
            NDArray array = entry.dtype().equals("BF16")
                    ? manager.create(widenBfloat16(buffer), entry.djlShape(), DataType.FLOAT32)
                    : manager.create(buffer, entry.djlShape(), djlType(entry.dtype()));
            array.setName(name);
            return array;
        } catch (IOException e) {
            throw new HeadlensException(file + ": cannot read tensor '" + name + "' (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Writes tensors to a safetensors file atomically (a temporary file renamed into place), so a
     * reader never sees a half-written file.
     *
     * @param file destination
     * @param tensors tensors by name, written in this order
     * @param metadata optional string metadata
     */
    public static void write(Path file, Map<String, NDArray> tensors, Map<String, String> metadata) {
        JsonObject header = new JsonObject();
        if (metadata != null && !metadata.isEmpty()) {
            JsonObject meta = new JsonObject();
            metadata.forEach(meta::addProperty);
            header.add("__metadata__", meta);
        }
        long offset = 0;
        List<byte[]> payloads = new ArrayList<>();
        for (Map.Entry<String, NDArray> tensor : tensors.entrySet()) {
            NDArray array = tensor.getValue();
            byte[] bytes = array.toByteArray();
            JsonObject entry = new JsonObject();
            entry.addProperty("dtype", safetensorsType(array.getDataType()));
            var shape = new com.google.gson.JsonArray();
            for (long d : array.getShape().getShape()) {
                shape.add(d);
            }
            entry.add("shape", shape);
            var offsets = new com.google.gson.JsonArray();
            offsets.add(offset);
            offsets.add(offset + bytes.length);
            entry.add("data_offsets", offsets);
            header.add(tensor.getKey(), entry);
            offset += bytes.length;
            payloads.add(bytes);
        }
        byte[] headerBytes = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (headerBytes.length + 7) / 8 * 8;
        byte[] headerPadded = new byte[padded];
        java.util.Arrays.fill(headerPadded, (byte) ' ');
        System.arraycopy(headerBytes, 0, headerPadded, 0, headerBytes.length);
        try {
            Path parent = file.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Path temporary = Files.createTempFile(parent, file.getFileName().toString(), ".tmp");
            try (OutputStream out = Files.newOutputStream(temporary)) {
                ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
                out.write(length.array());
                out.write(headerPadded);
                for (byte[] payload : payloads) {
                    out.write(payload);
                }
            }
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new HeadlensException(file + ": cannot write (" + e.getMessage() + ")", e);
        }
    }

    /**
     * bfloat16 is the top half of a float32, so widening is exact. It is done here because the
     * PyTorch engine of DJL 0.36 aborts the process when asked to hold a bfloat16 array.
     */
    private static ByteBuffer widenBfloat16(ByteBuffer halves) {
        ByteBuffer floats = ByteBuffer.allocateDirect(halves.remaining() * 2).order(ByteOrder.LITTLE_ENDIAN);
        while (halves.hasRemaining()) {
            floats.putInt((halves.getShort() & 0xffff) << 16);
        }
        return floats.flip();
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        long at = position;
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, at);
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
            at += n;
        }
    }

    private static HeadlensException bad(Path file, String what) {
        return new HeadlensException(file + ": not a valid safetensors file: " + what);
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "unknown error";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
