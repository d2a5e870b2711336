package org.headlens.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
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
    /**
     * Bytes of the file read at once. 16 MB keeps the number of native calls small (Qwen2-7B's
     * 1 GB embedding table is 68 pieces) and the staging buffers (16 MB, and 32 MB more to widen
     * bfloat16) far below the JVM's direct-memory limit; when even that is refused, pieces
     * shrink down to {@link #MIN_CHUNK_BYTES}.
     */
    static final long CHUNK_BYTES = 16L * 1024 * 1024;

    /** The smallest piece tried when the JVM refuses direct memory for larger ones. */
    static final long MIN_CHUNK_BYTES = 256L * 1024;

    /**
     * Direct buffers of this thread, reused from tensor to tensor: a direct buffer's memory is
     * returned only when the garbage collector finds it, so one new buffer per tensor could
     * exhaust a small direct-memory limit between collections.
     */
    private static final ThreadLocal<ByteBuffer[]> STAGING = ThreadLocal.withInitial(() -> new ByteBuffer[2]);

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
            JsonElement parsed = JsonFiles.parse(new String(headerBytes, StandardCharsets.UTF_8));
            if (!parsed.isJsonObject()) {
                throw bad(file, "header is not a JSON object");
            }
            json = parsed.getAsJsonObject();
        } catch (JsonFiles.Malformed e) {
            throw bad(file, "header " + e.getMessage());
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
        // Empty tensors occupy no bytes, so they overlap nothing wherever their offsets point;
        // sorting by begin and then end makes the check independent of the header's order.
        List<Entry> byOffset = new ArrayList<>();
        for (Entry entry : entries.values()) {
            if (entry.end() > entry.begin()) {
                byOffset.add(entry);
            }
        }
        byOffset.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end).thenComparing(Entry::name));
        for (int i = 1; i < byOffset.size(); i++) {
            Entry previous = byOffset.get(i - 1);
            Entry current = byOffset.get(i);
            if (current.begin() < previous.end()) {
                throw bad(file, "tensors " + quote(previous.name()) + " and " + quote(current.name()) + " overlap in the data section");
            }
        }
        return new SafeTensors(file, dataStart, Collections.unmodifiableMap(entries), Collections.unmodifiableMap(metadata));
    }

    private static Entry parseEntry(Path file, String name, JsonElement value, long dataLength) {
        String tensor = "tensor " + quote(name);
        if (!value.isJsonObject()) {
            throw bad(file, tensor + " has a malformed header entry (needs dtype, shape and data_offsets)");
        }
        JsonObject object = value.getAsJsonObject();
        JsonElement dtypeElement = object.get("dtype");
        if (dtypeElement == null || !dtypeElement.isJsonPrimitive() || !dtypeElement.getAsJsonPrimitive().isString()) {
            throw bad(file, tensor + " has no dtype string");
        }
        String dtype = dtypeElement.getAsString();
        int elementSize = elementSize(dtype);
        if (elementSize < 0) {
            throw bad(file, tensor + " has unsupported dtype " + shorten(dtype)
                    + " (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
        }
        JsonElement shapeElement = object.get("shape");
        if (shapeElement == null || !shapeElement.isJsonArray()) {
            throw bad(file, tensor + " has no shape array");
        }
        var shapeArray = shapeElement.getAsJsonArray();
        long[] shape = new long[shapeArray.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = count(file, tensor + " dimension " + i, shapeArray.get(i));
            elements = multiply(file, tensor, elements, shape[i]);
        }
        JsonElement offsetsElement = object.get("data_offsets");
        if (offsetsElement == null || !offsetsElement.isJsonArray() || offsetsElement.getAsJsonArray().size() != 2) {
            throw bad(file, tensor + " needs data_offsets [begin, end]");
        }
        var offsets = offsetsElement.getAsJsonArray();
        long begin = count(file, tensor + " data_offsets begin", offsets.get(0));
        long end = count(file, tensor + " data_offsets end", offsets.get(1));
        if (end < begin || end > dataLength) {
            throw bad(file, tensor + " has byte range [" + begin + ", " + end
                    + ") outside the data section of " + dataLength + " bytes");
        }
        long expected = multiply(file, tensor, elements, elementSize);
        if (end - begin != expected) {
            throw bad(file, tensor + " has " + (end - begin) + " bytes but its dtype " + dtype
                    + " and shape " + java.util.Arrays.toString(shape) + " need " + expected);
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    /**
     * A dimension or offset: a whole, non-negative number below 2^63, written as such. A
     * fraction, an exponent or a quoted number is refused rather than rounded, and a value beyond
     * 64 bits rather than wrapped.
     */
    private static long count(Path file, String what, JsonElement element) {
        String text = element.isJsonPrimitive() ? element.getAsString() : element.toString();
        if (!element.isJsonPrimitive() || !element.getAsJsonPrimitive().isNumber()) {
            throw bad(file, what + " is " + shorten(text) + ", not a number");
        }
        if (text.startsWith("-")) {
            throw bad(file, what + " is negative (" + shorten(text) + ")");
        }
        if (!text.matches("[0-9]+")) {
            throw bad(file, what + " is " + shorten(text) + ", not a whole number");
        }
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw bad(file, what + " is " + shorten(text) + ", beyond 64 bits");
        }
    }

    private static long multiply(Path file, String tensor, long a, long b) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw bad(file, tensor + " has a shape too large to address (its size in bytes exceeds 64 bits)");
        }
    }

    private static String shorten(String text) {
        String line = text.replaceAll("\\p{Cntrl}", "?");
        return line.length() <= 40 ? line : line.substring(0, 40) + "...";
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
     * Reads one tensor into native memory owned by {@code manager}, in its stored dtype
     * (bfloat16 widened exactly to float32).
     *
     * @param name tensor name
     * @param manager owner of the new array
     * @return the tensor
     */
    public NDArray read(String name, NDManager manager) {
        return read(name, manager, null);
    }

    /**
     * Reads one tensor into native memory owned by {@code manager}, converting a floating tensor
     * to {@code floatType} piece by piece, so that the stored and the converted copy of a large
     * tensor never need to be in memory at once.
     *
     * @param name tensor name
     * @param manager owner of the new array
     * @param floatType type of the result when the tensor is floating, or null to keep its type
     * @return the tensor
     */
    public NDArray read(String name, NDManager manager, DataType floatType) {
        return read(name, manager, floatType, CHUNK_BYTES);
    }

    /**
     * Reads a tensor {@code chunkBytes} of the file at a time into one array that PyTorch owns.
     * A direct buffer holds at most 2 GB, and PyTorch arrays made from one keep it alive, where
     * it counts against the JVM's direct-memory limit (by default the heap size); reading through
     * one small buffer that is copied into a PyTorch-allocated array avoids both limits.
     */
    NDArray read(String name, NDManager manager, DataType floatType, long chunkBytes) {
        try {
            return readInPieces(name, manager, floatType, chunkBytes);
        } catch (OutOfMemoryError e) {
            // the JVM's direct-memory limit (-XX:MaxDirectMemorySize) refused the staging buffers
            ByteBuffer[] cached = STAGING.get();
            cached[0] = null;
            cached[1] = null;
            if (chunkBytes / 4 >= MIN_CHUNK_BYTES) {
                return read(name, manager, floatType, chunkBytes / 4);
            }
            throw new HeadlensException(file + ": cannot read tensor " + quote(name) + ": the JVM refuses even "
                    + chunkBytes + " bytes of direct memory (" + firstLine(e.getMessage()) + "); raise -XX:MaxDirectMemorySize");
        }
    }

    /** A direct buffer of at least {@code bytes}, reused by this thread. */
    private static ByteBuffer staging(int slot, int bytes) {
        ByteBuffer[] cached = STAGING.get();
        if (cached[slot] == null || cached[slot].capacity() < bytes) {
            cached[slot] = null;
            cached[slot] = ByteBuffer.allocateDirect(bytes).order(ByteOrder.LITTLE_ENDIAN);
        }
        return cached[slot].clear();
    }

    private NDArray readInPieces(String name, NDManager manager, DataType floatType, long chunkBytes) {
        Entry entry = entries.get(name);
        if (entry == null) {
            throw new HeadlensException(file + ": no tensor named " + quote(name));
        }
        boolean bfloat16 = entry.dtype().equals("BF16");
        DataType stored = bfloat16 ? DataType.FLOAT32 : djlType(entry.dtype());
        DataType target = floatType != null && stored.isFloating() ? floatType : stored;
        int elementSize = elementSize(entry.dtype());
        long elements = entry.size();
        long perChunk = Math.max(1, chunkBytes / elementSize);
        int stagingBytes = (int) Math.min(elements, perChunk) * elementSize;
        NDArray flat = null;
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer staging = staging(0, Math.max(stagingBytes, 1));
            ByteBuffer widened = bfloat16 ? staging(1, Math.max(2 * stagingBytes, 1)) : null;
            if (elements <= perChunk) {
                // one piece: copied once out of the buffer, into memory PyTorch owns
                ByteBuffer data = readPiece(channel, entry, 0, elements, staging, widened);
                NDArray piece = manager.create(data, entry.djlShape(), stored);
                try {
                    NDArray owned = piece.getDataType() == target ? piece.duplicate() : piece.toType(target, false);
                    owned.setName(name);
                    return owned;
                } finally {
                    piece.close();
                }
            }
            flat = allocate(manager, name, elements, target);
            for (long first = 0; first < elements; first += perChunk) {
                long count = Math.min(perChunk, elements - first);
                ByteBuffer data = readPiece(channel, entry, first, count, staging, widened);
                NDArray piece = manager.create(data, new Shape(count), stored);
                NDArray typed = piece.getDataType() == target ? piece : piece.toType(target, false);
                try {
                    flat.set(new NDIndex().addSliceDim(first, first + count), typed);
                } finally {
                    typed.close();
                    piece.close();
                }
            }
        } catch (IOException e) {
            if (flat != null) {
                flat.close();
            }
            throw new HeadlensException(file + ": cannot read tensor " + quote(name) + " (" + e.getMessage() + ")", e);
        } catch (RuntimeException | Error e) {
            if (flat != null) {
                flat.close();
            }
            throw e;
        }
        NDArray array = flat.reshape(entry.djlShape());
        if (array != flat) {
            flat.close();
        }
        array.setName(name);
        return array;
    }

    /** Reads {@code count} elements from element {@code first} on; bfloat16 is widened to float32. */
    private ByteBuffer readPiece(FileChannel channel, Entry entry, long first, long count, ByteBuffer staging,
            ByteBuffer widened) throws IOException {
        int elementSize = elementSize(entry.dtype());
        staging.clear().limit((int) (count * elementSize));
        readFully(channel, staging, dataStart + entry.begin() + first * elementSize);
        staging.flip();
        return widened == null ? staging : widenBfloat16(staging, widened);
    }

    private NDArray allocate(NDManager manager, String name, long elements, DataType type) {
        try {
            return manager.create(new Shape(elements), type);
        } catch (ai.djl.engine.EngineException e) {
            throw new HeadlensException(file + ": cannot allocate " + elements * type.getNumOfBytes() + " bytes for tensor "
                    + quote(name) + " (" + firstLine(e.getMessage()) + ")", e);
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
    private static ByteBuffer widenBfloat16(ByteBuffer halves, ByteBuffer floats) {
        floats.clear();
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

    /**
     * A tensor name for a message: quoted, control characters replaced (a name may hold a newline
     * and messages are one line) and cut when very long.
     */
    static String quote(String name) {
        StringBuilder out = new StringBuilder("'");
        for (int i = 0; i < name.length() && i < 200; i++) {
            char c = name.charAt(i);
            out.append(Character.isISOControl(c) ? '?' : c);
        }
        return out.append(name.length() > 200 ? "...'" : "'").toString();
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "unknown error";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
