package org.headlens.results;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.headlens.HeadlensException;
import tech.tablesaw.api.Table;

/**
 * A folder of results that survives interruption: every file is written to a temporary name and
 * renamed into place, so a killed run leaves only complete files, and a rerun finds what is done.
 */
public final class ResultFolder {
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create();
    private final Path root;

    private ResultFolder(Path root) {
        this.root = root;
    }

    /**
     * @param root the folder (created when missing; temporary files of a killed run are removed)
     * @return the result folder
     */
    public static ResultFolder open(Path root) {
        try {
            Files.createDirectories(root);
            // a run killed while writing leaves its temporary file behind; it never holds a finished result
            try (Stream<Path> walk = Files.walk(root)) {
                for (Path stale : walk.filter(p -> p.getFileName().toString().endsWith(".partial")).toList()) {
                    Files.deleteIfExists(stale);
                }
            }
        } catch (IOException e) {
            throw new HeadlensException(root + ": cannot create the output folder (" + e.getMessage() + ")", e);
        }
        return new ResultFolder(root);
    }

    /** @return the folder */
    public Path root() {
        return root;
    }

    /**
     * Writes a file atomically.
     *
     * @param relative path inside the folder
     * @param content text
     */
    public void write(String relative, String content) {
        Path target = resolve(relative);
        try {
            Files.createDirectories(target.getParent());
            Path temporary = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".partial");
            Files.writeString(temporary, content, StandardCharsets.UTF_8);
            try {
                Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new HeadlensException(target + ": cannot write (" + e.getMessage() + ")", e);
        }
    }

    /** Sample ids become file names, so one that would leave the folder (e.g. {@code ../x}) is refused. */
    private Path resolve(String relative) {
        Path target = root.resolve(relative).normalize();
        if (!target.startsWith(root.normalize()) || relative.contains("\0")) {
            throw new HeadlensException(root + ": refusing to write '" + relative + "' outside the output folder");
        }
        return target;
    }

    /** Writes {@code value} as JSON. */
    public void writeJson(String relative, Object value) {
        write(relative, GSON.toJson(value) + "\n");
    }

    /**
     * Reads a JSON file written by {@link #writeJson}.
     *
     * @return the value, or null when the file does not exist
     */
    public <T> T readJson(String relative, Class<T> type) {
        Path file = resolve(relative);
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            T value = GSON.fromJson(Files.readString(file), type);
            if (value == null) {
                throw new HeadlensException(file + ": empty result file; delete it to recompute");
            }
            return value;
        } catch (IOException | JsonParseException e) {
            throw new HeadlensException(file + ": not a result file headlens wrote (" + e.getMessage() + "); delete it to recompute", e);
        }
    }

    /**
     * What a resumable run saved under {@code relative}, or else {@code compute}'s result, saved
     * there first.
     *
     * @param folder the run's folder, or null to compute in memory only
     * @param relative file of this piece of work, e.g. {@code samples/eval-0003.json}
     * @param type its type
     * @param compute does the work
     * @return the saved or computed value
     */
    public static <T> T readOrCompute(ResultFolder folder, String relative, Class<T> type, java.util.function.Supplier<T> compute) {
        T value = folder == null ? null : folder.readJson(relative, type);
        if (value == null) {
            value = compute.get();
            if (folder != null) {
                folder.writeJson(relative, value);
            }
        }
        return value;
    }

    /** Writes a table as CSV ({@code name}.csv). */
    public void writeCsv(String name, Table table) {
        StringWriter text = new StringWriter();
        table.write().csv(text);
        write(name + ".csv", text.toString());
    }

    /**
     * SHA-256 over the files of a folder (sorted by path, names included) or of one file, so a
     * manifest pins the exact model and data a result came from.
     *
     * @param path folder or file
     * @return hex digest
     */
    public static String sha256(Path path) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            List<Path> files;
            try (Stream<Path> walk = Files.walk(path)) {
                files = walk.filter(Files::isRegularFile).sorted().toList();
            }
            byte[] buffer = new byte[1 << 16];
            for (Path file : files) {
                digest.update(path.relativize(file).toString().replace('\\', '/').getBytes(StandardCharsets.UTF_8));
                try (InputStream in = Files.newInputStream(file)) {
                    for (int n; (n = in.read(buffer)) > 0;) {
                        digest.update(buffer, 0, n);
                    }
                }
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (IOException e) {
            throw new HeadlensException(path + ": cannot read for the checksum (" + e.getMessage() + ")", e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
