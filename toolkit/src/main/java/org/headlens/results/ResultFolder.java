package org.headlens.results;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.headlens.HeadlensException;
import tech.tablesaw.api.Table;

/**
 * A folder of results owned by one run. It is claimed before anything is written: a new or empty
 * folder gets a {@code run.json} naming the run's identity (created atomically, so of two runs
 * started at once only one gets it), and a folder that already has one is accepted only for the
 * same identity. A non-empty folder without {@code run.json} is not headlens's and is refused
 * untouched. While a run holds the folder, a lock on {@code .headlens.lock} keeps other runs out.
 *
 * <p>Every file is written to a temporary name only headlens uses
 * ({@code .<name>.<16 hex digits>.headlens-partial}) and renamed into place, so a killed run leaves
 * only complete files; leftover temporary files of that exact pattern are removed once the folder
 * is claimed, and no other file is ever deleted. Per-sample results carry proof of the run and
 * sample they belong to (see {@link #readOrCompute}).
 */
public final class ResultFolder implements AutoCloseable {
    /** The file that names the run a folder belongs to. */
    public static final String RUN_FILE = "run.json";
    /** Held locked by the run writing into the folder. */
    public static final String LOCK_FILE = ".headlens.lock";
    /** Suffix of headlens's temporary files. */
    public static final String PARTIAL_SUFFIX = ".headlens-partial";
    private static final Pattern PARTIAL = Pattern.compile("\\..+\\.[0-9a-f]{16}" + Pattern.quote(PARTIAL_SUFFIX));
    private static final String RESULT_MARK = "headlens per-sample result";
    /** Per-sample results are kilobytes; a larger file is not one, and is not read into memory. */
    private static final long MAX_RESULT_BYTES = 64L << 20;
    private static final long MAX_RUN_FILE_BYTES = 1L << 20;
    /** File names are at most 255 bytes; the temporary name adds 35 to the sample's. */
    private static final int MAX_ID_BYTES = 200;
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().disableHtmlEscaping().create();
    private static final Gson COMPACT = new GsonBuilder().serializeSpecialFloatingPointValues().disableHtmlEscaping().create();
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path root;
    private final String runId;
    private final FileChannel lockChannel;
    private final FileLock lock;

    private ResultFolder(Path root, String runId, FileChannel lockChannel, FileLock lock) {
        this.root = root;
        this.runId = runId;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /**
     * Checks, without changing anything, that {@link #claim} would accept {@code root} for a run of
     * this identity, so a run can be refused before it loads a model.
     *
     * @param root the result folder
     * @param identity what must be equal for two runs' results to be mixed in one table (command,
     *     checksums of model and data, prompt, options)
     */
    public static void check(Path root, JsonObject identity) {
        if (root.toString().isEmpty()) {
            throw new HeadlensException("the output folder is an empty path; name a folder for the results");
        }
        if (Files.exists(root) && !Files.isDirectory(root)) {
            throw new HeadlensException(root + ": exists and is not a folder; name a new or empty folder for the results");
        }
        if (!Files.isDirectory(root)) {
            return;
        }
        Path run = root.resolve(RUN_FILE);
        // listed before run.json is looked for: a run.json another run creates meanwhile is then compared, not taken for a stranger's file
        String foreign = foreignEntry(root);
        if (Files.exists(run, LinkOption.NOFOLLOW_LINKS)) {
            compare(readRun(run), identity, run);
            return;
        }
        if (foreign != null) {
            throw new HeadlensException(root + ": holds " + foreign + " but no " + RUN_FILE + ", so headlens did not create it (or its "
                    + RUN_FILE + " was deleted); headlens writes only into a new or empty folder or one it claimed: name another --out folder");
        }
    }

    /**
     * Claims {@code root} for a run: creates it when missing, writes {@code run.json} unless the
     * folder already holds one of the same identity, locks it for the run, and removes temporary
     * files a killed run left. A refused folder is left exactly as it was.
     *
     * @param root the result folder
     * @param identity as for {@link #check}
     * @return the folder, to be closed when the run ends
     */
    public static ResultFolder claim(Path root, JsonObject identity) {
        check(root, identity);
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new HeadlensException(root + ": cannot create the output folder (" + e.getMessage() + ")", e);
        }
        FileChannel channel;
        try {
            // not through a link: the lock file must be this folder's own
            channel = FileChannel.open(root.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw new HeadlensException(root.resolve(LOCK_FILE) + ": cannot open the folder's lock file (" + e.getMessage() + ")", e);
        }
        FileLock lock = null;
        boolean locked;
        try {
            lock = channel.tryLock();
            locked = lock != null;
        } catch (OverlappingFileLockException e) {
            locked = false; // held by another run in this same process
        } catch (IOException e) {
            // a file system without locks (some network mounts): run.json's atomic creation still decides the claim
            locked = true;
        }
        if (!locked) {
            close(channel);
            throw new HeadlensException(root + ": another headlens run is writing to this folder now (it holds " + LOCK_FILE
                    + "); wait for it to finish or name another --out folder");
        }
        try {
            Path run = root.resolve(RUN_FILE);
            JsonObject content = identity.deepCopy();
            String id = runId(identity);
            content.addProperty("run_id", id);
            String foreign = foreignEntry(root);
            if (!Files.exists(run, LinkOption.NOFOLLOW_LINKS)) {
                if (foreign != null) {
                    throw new HeadlensException(root + ": " + foreign + " appeared while the folder was being claimed; name another --out folder");
                }
                if (!createNew(run, GSON.toJson(content) + "\n")) {
                    compare(readRun(run), identity, run); // another run created it first
                }
            } else {
                compare(readRun(run), identity, run);
            }
            if (lock != null) {
                removeStalePartials(root);
            }
            return new ResultFolder(root, id, channel, lock);
        } catch (RuntimeException e) {
            release(lock);
            close(channel);
            throw e;
        }
    }

    /**
     * Opens a folder another process of the same run has claimed and still holds (the driver of a
     * distributed run), to write per-sample results into it: its {@code run.json} must exist and
     * name this identity. It takes no lock and removes nothing, since the claiming process does
     * both; every file is still written atomically, so two attempts at one sample leave one file.
     *
     * @param root the result folder
     * @param identity as for {@link #check}
     * @return the folder (closing it releases nothing)
     */
    public static ResultFolder join(Path root, JsonObject identity) {
        Path run = root.resolve(RUN_FILE);
        if (!Files.exists(run, LinkOption.NOFOLLOW_LINKS)) {
            throw new HeadlensException(run + ": missing, so the run that should hold this folder has not claimed it (is --out a path"
                    + " every machine of the cluster sees?)");
        }
        compare(readRun(run), identity, run);
        return new ResultFolder(root, runId(identity), null, null);
    }

    /** Releases the folder for other runs. */
    @Override
    public void close() {
        release(lock);
        close(lockChannel);
    }

    private static void release(FileLock lock) {
        try {
            if (lock != null && lock.isValid()) {
                lock.release();
            }
        } catch (IOException e) {
            // the lock goes with the channel or the process anyway
        }
    }

    private static void close(FileChannel channel) {
        try {
            if (channel != null) {
                channel.close();
            }
        } catch (IOException e) {
            // nothing was written through it
        }
    }

    /** @return the folder */
    public Path root() {
        return root;
    }

    /** @return SHA-256 of the run's identity (canonical JSON): every per-sample file carries it */
    public String runId() {
        return runId;
    }

    /**
     * @param identity a run's identity
     * @return its run id: SHA-256 of its JSON with keys sorted, so key order does not matter
     */
    public static String runId(JsonObject identity) {
        return sha256(COMPACT.toJson(canonical(identity)));
    }

    private static JsonElement canonical(JsonElement element) {
        if (element.isJsonObject()) {
            TreeMap<String, JsonElement> sorted = new TreeMap<>();
            element.getAsJsonObject().entrySet().forEach(e -> sorted.put(e.getKey(), canonical(e.getValue())));
            JsonObject out = new JsonObject();
            sorted.forEach(out::add);
            return out;
        }
        if (element.isJsonArray()) {
            JsonArray out = new JsonArray();
            element.getAsJsonArray().forEach(e -> out.add(canonical(e)));
            return out;
        }
        return element;
    }

    private static void compare(JsonObject existing, JsonObject identity, Path run) {
        for (String key : identity.keySet()) {
            if (!identity.get(key).equals(existing.get(key))) {
                throw new HeadlensException(run + ": this folder holds results of another run (its " + key.replace('_', ' ') + " differs: "
                        + shorten(String.valueOf(existing.get(key))) + " there, " + shorten(identity.get(key).toString())
                        + " now); name another --out folder, or delete this one to start again");
            }
        }
    }

    private static String shorten(String text) {
        String line = text.replaceAll("\\p{Cntrl}", " ");
        return line.length() <= 300 ? line : line.substring(0, 300) + "...";
    }

    private static JsonObject readRun(Path run) {
        String problem = null;
        try {
            if (!Files.isRegularFile(run, LinkOption.NOFOLLOW_LINKS)) {
                problem = "not a regular file";
            } else if (Files.size(run) > MAX_RUN_FILE_BYTES) {
                problem = "larger than 1 MB";
            } else {
                JsonElement json = parse(new String(Files.readAllBytes(run), StandardCharsets.UTF_8));
                if (json != null && json.isJsonObject() && json.getAsJsonObject().has("command")) {
                    return json.getAsJsonObject();
                }
                problem = json == null ? "not valid JSON" : "not an object with the run's command";
            }
        } catch (IOException e) {
            problem = "unreadable (" + e.getMessage() + ")";
        }
        throw new HeadlensException(run + ": not a " + RUN_FILE + " headlens wrote (" + problem + "); this folder was not created by"
                + " headlens or its " + RUN_FILE + " was altered: name another --out folder");
    }

    /** @return the parsed JSON, or null when it is not JSON (also for malformed UTF-8 and absurd nesting) */
    private static JsonElement parse(String text) {
        try {
            return JsonParser.parseString(text);
        } catch (RuntimeException | StackOverflowError e) {
            return null;
        }
    }

    /** @return the first entry (by name) of {@code root} that headlens did not put there, or null */
    private static String foreignEntry(Path root) {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                boolean ours = (name.equals(LOCK_FILE) || PARTIAL.matcher(name).matches()) && Files.isRegularFile(entry, LinkOption.NOFOLLOW_LINKS);
                if (!ours) {
                    names.add(Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS) ? name + "/" : name);
                }
            }
        } catch (IOException e) {
            throw new HeadlensException(root + ": cannot list the output folder (" + e.getMessage() + ")", e);
        }
        return names.stream().sorted().findFirst().orElse(null);
    }

    /**
     * Creates {@code target} with {@code content} unless it exists, atomically: a complete file
     * is hard-linked into place, which fails when the name is taken, so two runs cannot both
     * create it.
     *
     * @return false when the file already existed
     */
    static boolean createNew(Path target, String content) {
        byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
        Path temporary = temporaryFor(target);
        try {
            Files.write(temporary, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            try {
                Files.createLink(target, temporary);
                return true;
            } catch (FileAlreadyExistsException e) {
                return false;
            } catch (UnsupportedOperationException | IOException e) {
                // no hard links on this file system: exclusive creation is atomic, only the content may be seen half-written
                try {
                    Files.write(target, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                    return true;
                } catch (FileAlreadyExistsException taken) {
                    return false;
                }
            }
        } catch (IOException e) {
            throw new HeadlensException(target + ": cannot write (" + e.getMessage() + ")", e);
        } finally {
            try {
                Files.deleteIfExists(temporary);
            } catch (IOException e) {
                // a leftover temporary file of ours is removed by the next claim
            }
        }
    }

    private static Path temporaryFor(Path target) {
        byte[] random = new byte[8];
        RANDOM.nextBytes(random);
        return target.resolveSibling("." + target.getFileName() + "." + HexFormat.of().formatHex(random) + PARTIAL_SUFFIX);
    }

    /**
     * Removes temporary files of headlens's own pattern that a killed run left, under the root
     * but not inside a nested folder another run may claim.
     */
    private static void removeStalePartials(Path root) {
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attributes) {
                    return dir.equals(root) || !Files.exists(dir.resolve(LOCK_FILE)) ? FileVisitResult.CONTINUE : FileVisitResult.SKIP_SUBTREE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) throws IOException {
                    if (attributes.isRegularFile() && PARTIAL.matcher(file.getFileName().toString()).matches()) {
                        Files.deleteIfExists(file);
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    return FileVisitResult.CONTINUE; // an unreadable folder of the user's holds nothing of ours
                }
            });
        } catch (IOException e) {
            throw new HeadlensException(root + ": cannot remove leftover temporary files (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Writes a file atomically: to a temporary name, then renamed into place. It gets the
     * permissions the process's umask gives new files, like any file the user creates.
     *
     * @param relative path inside the folder
     * @param content text
     */
    public void write(String relative, String content) {
        Path target = resolve(relative);
        Path temporary = null;
        try {
            Files.createDirectories(target.getParent());
            // a subfolder replaced by a link must not carry results out of the folder
            if (!target.getParent().toRealPath().startsWith(root.toRealPath())) {
                throw new HeadlensException(target.getParent() + ": leads outside the output folder " + root + " (a link?); refusing to write there");
            }
            temporary = temporaryFor(target);
            Files.write(temporary, content.getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            try {
                Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            if (temporary != null) {
                try {
                    Files.deleteIfExists(temporary);
                } catch (IOException ignored) {
                    // removed by the next claim
                }
            }
            throw new HeadlensException(target + ": cannot write (" + e.getMessage() + ")", e);
        }
    }

    /** Sample ids become file names, so one that would leave the folder (e.g. {@code ../x}) is refused. */
    private Path resolve(String relative) {
        Path target = root.resolve(relative).normalize();
        if (!target.startsWith(root.normalize()) || target.equals(root.normalize()) || relative.contains("\0")) {
            throw new HeadlensException(root + ": refusing to write '" + relative + "' outside the output folder");
        }
        return target;
    }

    /** Writes {@code value} as JSON. */
    public void writeJson(String relative, Object value) {
        write(relative, GSON.toJson(value) + "\n");
    }

    /** Writes a table as CSV ({@code name}.csv). */
    public void writeCsv(String name, Table table) {
        StringWriter text = new StringWriter();
        table.write().csv(text);
        write(name + ".csv", text.toString());
    }

    /**
     * Where one sample's result is saved, and what the file must prove about itself.
     *
     * @param relative path inside the folder, e.g. {@code samples/eval-0003.json}
     * @param sampleId the sample's id
     * @param image the sample's image, whose checksum the file records
     * @param context what else the result was computed from (e.g. a checksum of the rankings its
     *     curves follow), empty when nothing: a file of this run and sample with another context
     *     is outdated and is computed again
     */
    public record SampleFile(String relative, String sampleId, Path image, String context) {
        /**
         * @param folder subfolder, e.g. {@code samples}
         * @param sampleId the sample's id
         * @param image its image
         * @return {@code folder/sampleId.json}, depending on nothing else
         */
        public static SampleFile of(String folder, String sampleId, Path image) {
            return new SampleFile(folder + "/" + sampleId + ".json", sampleId, image, "");
        }

        /** @return a copy that also depends on {@code value} (any text; its checksum is recorded) */
        public SampleFile dependingOn(String value) {
            return new SampleFile(relative, sampleId, image, value.isEmpty() ? "" : sha256(value));
        }
    }

    /**
     * What a resumable run saved for one sample, or else {@code compute}'s result, saved first.
     * A saved file is used only when it proves it belongs here: it records this folder's run id,
     * its own path, the sample id and the image's checksum, and the checksum of its result. A
     * file that fails any of these (another run's, another sample's, truncated, emptied, edited)
     * is refused naming it, and never deleted: it may be the user's. Only a file of this very run
     * and sample that was computed from another context (see {@link SampleFile}) is replaced.
     *
     * @param folder the run's folder, or null to compute in memory only
     * @param file where the result goes and what it must prove
     * @param type the result's type
     * @param compute does the work
     * @return the saved or computed value
     */
    public static <T> T readOrCompute(ResultFolder folder, SampleFile file, Class<T> type, Supplier<T> compute) {
        if (folder == null) {
            return compute.get();
        }
        String imageSha = sha256(file.image());
        T value = folder.read(file, imageSha, type);
        if (value == null) {
            value = compute.get();
            JsonObject envelope = new JsonObject();
            envelope.addProperty("headlens", RESULT_MARK);
            envelope.addProperty("run_id", folder.runId);
            envelope.addProperty("file", file.relative());
            envelope.addProperty("sample_id", file.sampleId());
            envelope.addProperty("image_sha256", imageSha);
            envelope.addProperty("context_sha256", file.context());
            envelope.addProperty("result_sha256", sha256(COMPACT.toJson(value)));
            envelope.add("result", COMPACT.toJsonTree(value));
            folder.write(file.relative(), GSON.toJson(envelope) + "\n");
        }
        return value;
    }

    /** @return the saved result, or null when there is none or it is this run's but outdated */
    private <T> T read(SampleFile sample, String imageSha, Class<T> type) {
        Path file = resolve(sample.relative());
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            return null;
        }
        String remedy = "; delete it to compute that sample again, or name another --out folder";
        JsonObject envelope;
        try {
            if (!Files.isRegularFile(file)) {
                throw new HeadlensException(file + ": is not a regular file, so not a result headlens wrote" + remedy);
            }
            if (Files.size(file) > MAX_RESULT_BYTES) {
                throw new HeadlensException(file + ": " + Files.size(file) + " bytes, too large for a per-sample result headlens wrote" + remedy);
            }
            JsonElement json = parse(new String(Files.readAllBytes(file), StandardCharsets.UTF_8));
            if (json == null || !json.isJsonObject()) {
                throw new HeadlensException(file + ": not a JSON object (truncated, or not written by headlens)" + remedy);
            }
            envelope = json.getAsJsonObject();
        } catch (IOException e) {
            throw new HeadlensException(file + ": cannot read (" + e.getMessage() + ")" + remedy, e);
        }
        Map<String, String> fields = new HashMap<>();
        for (String key : List.of("headlens", "run_id", "file", "sample_id", "image_sha256", "context_sha256", "result_sha256")) {
            JsonElement value = envelope.get(key);
            if (value == null || !value.isJsonPrimitive() || !value.getAsJsonPrimitive().isString()) {
                throw new HeadlensException(file + ": has no '" + key + "', so it is not a per-sample result of this headlens version"
                        + " and cannot prove which run and sample it belongs to" + remedy);
            }
            fields.put(key, value.getAsString());
        }
        if (!RESULT_MARK.equals(fields.get("headlens"))) {
            throw new HeadlensException(file + ": not a per-sample result headlens wrote" + remedy);
        }
        if (!runId.equals(fields.get("run_id"))) {
            throw new HeadlensException(file + ": belongs to another run (run id " + shortId(fields.get("run_id")) + ", this folder's is "
                    + shortId(runId) + "); it may be left from a run whose " + RUN_FILE + " was replaced" + remedy);
        }
        if (!sample.sampleId().equals(fields.get("sample_id"))) {
            throw new HeadlensException(file + ": holds the result of sample " + shorten(fields.get("sample_id")) + ", not of sample "
                    + sample.sampleId() + remedy);
        }
        if (!sample.relative().equals(fields.get("file"))) {
            throw new HeadlensException(file + ": holds the result saved as " + shorten(fields.get("file")) + ", not as " + sample.relative() + remedy);
        }
        if (!imageSha.equals(fields.get("image_sha256"))) {
            throw new HeadlensException(file + ": was computed from another image than " + sample.image() + remedy);
        }
        JsonElement result = envelope.get("result");
        T value = null;
        if (result != null && result.isJsonObject()) {
            try {
                value = COMPACT.fromJson(result, type);
            } catch (RuntimeException | StackOverflowError e) {
                value = null; // a field of the wrong type: refused below like any other alteration
            }
        }
        if (value == null || !sha256(COMPACT.toJson(value)).equals(fields.get("result_sha256"))) {
            throw new HeadlensException(file + ": its result does not match its checksum (edited, or incomplete)" + remedy);
        }
        return sample.context().equals(fields.get("context_sha256")) ? value : null;
    }

    private static String shortId(String id) {
        return id.length() > 12 ? id.substring(0, 12) : shorten(id);
    }

    /**
     * Refuses sample ids that cannot each name their own result file: empty, hidden, holding a
     * path separator or control character, too long, or equal to another's up to letter case (the
     * file systems of macOS and Windows would give both one file).
     *
     * @param ids the ids in input order
     * @param source what they come from, e.g. the labels file, named in the message
     */
    public static void checkSampleIds(List<String> ids, String source) {
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < ids.size(); i++) {
            String id = ids.get(i);
            String problem = id.isEmpty() ? "is empty" : id.startsWith(".") ? "starts with '.'"
                    : id.matches(".*[/\\\\:\\p{Cntrl}].*") ? "holds '/', '\\', ':' or a control character"
                    : id.getBytes(StandardCharsets.UTF_8).length > MAX_ID_BYTES ? "is longer than " + MAX_ID_BYTES + " bytes" : null;
            if (problem != null) {
                throw new HeadlensException(source + ": sample " + (i + 1) + "'s id '" + shorten(id) + "' " + problem
                        + "; ids name result files, so they must be plain file names");
            }
            Integer earlier = seen.putIfAbsent(id.toLowerCase(Locale.ROOT), i);
            if (earlier != null) {
                throw new HeadlensException(source + ": samples " + (earlier + 1) + " and " + (i + 1) + " have the same id ('" + ids.get(earlier)
                        + "' and '" + id + "', letter case aside); each sample needs its own id, which names its result file");
            }
        }
    }

    /** @return SHA-256 of a text, as hex */
    public static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
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
