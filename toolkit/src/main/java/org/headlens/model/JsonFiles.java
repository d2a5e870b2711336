package org.headlens.model;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.headlens.HeadlensException;

/**
 * Reads the JSON files of a model folder ({@code config.json}, the shard index, the image
 * processor's config, safetensors headers) with limits that hold whatever the file holds: its
 * size is checked before it is read, nesting deeper than {@link #MAX_DEPTH} is refused, a key
 * that appears twice in one object is refused (a plain parser keeps the last one silently, so two
 * readers could disagree on what the file says), and anything after the value is refused. Every
 * error is one short line that names the file.
 *
 * <p>{@code NaN} and {@code Infinity}, which Python's {@code json} writes for such floats, are
 * read (as the strings "NaN", "Infinity"), so that the reader of a field can refuse them by name.
 */
public final class JsonFiles {
    /** Configuration files above this are refused before they are read; real ones have a few KB. */
    public static final long MAX_CONFIG_BYTES = 16L * 1024 * 1024;
    /** Objects and arrays nested deeper than this are refused; configurations nest 3 or 4 levels. */
    public static final int MAX_DEPTH = 64;
    /** Longest excerpt of a parser message quoted in an error. */
    private static final int MAX_REASON = 160;

    private JsonFiles() {
    }

    /**
     * Reads a JSON file that must hold one object.
     *
     * @param file the file
     * @param maxBytes largest size accepted (e.g. {@link #MAX_CONFIG_BYTES})
     * @return the object
     * @throws HeadlensException naming the file when it is missing, too large, not UTF-8, not
     *     valid JSON, not an object, nested too deeply or has a duplicate key
     */
    public static JsonObject readObject(Path file, long maxBytes) {
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > maxBytes) {
                throw new HeadlensException(file + ": is " + size + " bytes, more than the " + maxBytes
                        + " bytes accepted for this file; it is not the file save_pretrained writes");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new HeadlensException(file + ": not found");
        } catch (IOException e) {
            throw new HeadlensException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        if (bytes.length > maxBytes) {
            throw new HeadlensException(file + ": is more than the " + maxBytes + " bytes accepted for this file");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new HeadlensException(file + ": is not UTF-8 text");
        }
        return parseObject(file.toString(), text);
    }

    /**
     * Parses JSON text that must hold one object.
     *
     * @param source what the text is, as the start of error messages (usually a file name)
     * @param text the text
     * @return the object
     * @throws HeadlensException starting with {@code source} when the text is not one valid object
     */
    public static JsonObject parseObject(String source, String text) {
        JsonElement parsed;
        try {
            parsed = parse(text);
        } catch (Malformed e) {
            throw new HeadlensException(source + ": " + e.getMessage());
        }
        if (!parsed.isJsonObject()) {
            throw new HeadlensException(source + ": is not a JSON object");
        }
        return parsed.getAsJsonObject();
    }

    /**
     * Parses JSON text with the limits of this class.
     *
     * @param text the text (a leading byte-order mark is skipped)
     * @return the value
     * @throws Malformed with a one-line reason (no file name) when the text is refused
     */
    static JsonElement parse(String text) throws Malformed {
        String body = text.startsWith("\uFEFF") ? text.substring(1) : text;
        if (body.isBlank()) {
            throw new Malformed("is empty, not JSON");
        }
        JsonReader reader = new JsonReader(new StringReader(body));
        // lenient only so that NaN and Infinity are read: the field's reader refuses them by name
        reader.setStrictness(Strictness.LENIENT);
        try {
            JsonElement value = read(reader, "", 0);
            boolean ended;
            try {
                ended = reader.peek() == JsonToken.END_DOCUMENT;
            } catch (IOException | RuntimeException e) {
                ended = false;
            }
            if (!ended) {
                throw new Malformed("is not valid JSON: unexpected text after the end of the value, at " + where(reader));
            }
            return value;
        } catch (IOException | RuntimeException e) {
            throw new Malformed("is not valid JSON (" + reason(e) + ")");
        }
    }

    private static JsonElement read(JsonReader reader, String path, int depth) throws IOException, Malformed {
        JsonToken token = reader.peek();
        switch (token) {
            case BEGIN_OBJECT: {
                requireDepth(reader, depth);
                JsonObject object = new JsonObject();
                reader.beginObject();
                while (reader.hasNext()) {
                    String name = reader.nextName();
                    String at = path.isEmpty() ? name : path + "." + name;
                    if (object.has(name)) {
                        throw new Malformed("has the key '" + shorten(at) + "' twice; which one counts is ambiguous");
                    }
                    object.add(name, read(reader, at, depth + 1));
                }
                reader.endObject();
                return object;
            }
            case BEGIN_ARRAY: {
                requireDepth(reader, depth);
                JsonArray array = new JsonArray();
                reader.beginArray();
                int index = 0;
                while (reader.hasNext()) {
                    array.add(read(reader, path + "[" + index++ + "]", depth + 1));
                }
                reader.endArray();
                return array;
            }
            case STRING:
                return new JsonPrimitive(reader.nextString());
            case NUMBER:
                return new JsonPrimitive(new Literal(reader.nextString()));
            case BOOLEAN:
                return new JsonPrimitive(reader.nextBoolean());
            case NULL:
                reader.nextNull();
                return JsonNull.INSTANCE;
            default:
                throw new Malformed("is not valid JSON: unexpected " + token + " at " + where(reader));
        }
    }

    private static void requireDepth(JsonReader reader, int depth) throws Malformed {
        if (depth >= MAX_DEPTH) {
            throw new Malformed("nests objects or arrays deeper than " + MAX_DEPTH + " levels, at " + where(reader));
        }
    }

    /** The reader's position as "line L column C", without its (possibly very long) path. */
    private static String where(JsonReader reader) {
        String location = reader.toString();
        int at = location.indexOf(" at line ");
        if (at < 0) {
            return "an unknown position";
        }
        String rest = location.substring(at + " at ".length());
        int path = rest.indexOf(" path ");
        return path < 0 ? rest : rest.substring(0, path);
    }

    /** The first line of a parser message, without Gson's troubleshooting link, at most a short line. */
    private static String reason(Throwable e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        int newline = message.indexOf('\n');
        if (newline >= 0) {
            message = message.substring(0, newline);
        }
        int see = message.indexOf("See https://");
        if (see >= 0) {
            message = message.substring(0, see);
        }
        int path = message.indexOf(" path $");
        if (path >= 0) {
            message = message.substring(0, path);
        }
        return shorten(message.strip());
    }

    /** Control characters (a key may hold a newline) replaced, so that the message stays one line. */
    private static String shorten(String text) {
        String line = text.replaceAll("\\p{Cntrl}", "?");
        return line.length() <= MAX_REASON ? line : line.substring(0, MAX_REASON) + "...";
    }

    /** Why a JSON text was refused, as one short line without the source's name. */
    static final class Malformed extends Exception {
        private static final long serialVersionUID = 1L;

        Malformed(String reason) {
            super(reason);
        }
    }

    /**
     * A number as written in the file. Keeping the text lets readers tell {@code 2} from
     * {@code 2.5} or from a value beyond 64 bits, instead of rounding or wrapping it; reading it
     * as a double gives the same value as Gson's own parser.
     */
    static final class Literal extends Number {
        private static final long serialVersionUID = 1L;
        private final String text;

        Literal(String text) {
            this.text = text;
        }

        /** @return true when the text is a whole number without fraction or exponent */
        boolean isWholeNumber() {
            return text.matches("-?[0-9]+");
        }

        @Override
        public int intValue() {
            return (int) longValue();
        }

        @Override
        public long longValue() {
            if (isWholeNumber()) {
                try {
                    return Long.parseLong(text);
                } catch (NumberFormatException e) {
                    // beyond 64 bits: read through the double like any other
                }
            }
            return (long) doubleValue();
        }

        @Override
        public float floatValue() {
            return Float.parseFloat(text);
        }

        @Override
        public double doubleValue() {
            return Double.parseDouble(text);
        }

        @Override
        public String toString() {
            return text;
        }
    }
}
