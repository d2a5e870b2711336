package org.headlens.results;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.gson.JsonObject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.headlens.HeadlensException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Claiming result folders, and the proof per-sample files carry, without a model. */
class ResultFolderTest {
    /** A per-sample result as a test computes it. */
    record Value(String id, double number, double[] series) {
    }

    static JsonObject identity(String command, int seed) {
        JsonObject identity = new JsonObject();
        identity.addProperty("command", command);
        JsonObject options = new JsonObject();
        options.addProperty("seed", seed);
        identity.add("options", options);
        return identity;
    }

    /** @return every file and folder under {@code root} with its content, to compare before and after */
    static Map<String, String> snapshot(Path root) throws Exception {
        Map<String, String> files = new TreeMap<>();
        if (!Files.exists(root)) {
            return files;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path path : walk.toList()) {
                files.put(root.relativize(path).toString(), Files.isDirectory(path) ? "folder" : Files.readString(path, StandardCharsets.ISO_8859_1));
            }
        }
        return files;
    }

    private static HeadlensException refused(Path root, JsonObject identity) {
        HeadlensException e = assertThrows(HeadlensException.class, () -> ResultFolder.claim(root, identity).close());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e;
    }

    @Test
    void aFolderHeadlensDidNotCreateIsRefusedUntouchedAndNamed(@TempDir Path dir) throws Exception {
        Path root = dir.resolve("results");
        Files.createDirectories(root.resolve("sub"));
        Files.writeString(root.resolve("samples.csv"), "the user's own table\n");
        Files.writeString(root.resolve("thesis.partial"), "a draft");
        Files.writeString(root.resolve("sub/draft.partial"), "another draft");
        Files.writeString(root.resolve(".samples.csv.0123456789abcdef.headlens-partial"), "ours, but the folder is not");
        Map<String, String> before = snapshot(root);
        HeadlensException e = refused(root, identity("attribute", 1));
        assertTrue(e.getMessage().startsWith(root.toString()) && e.getMessage().contains("samples.csv"), e.getMessage());
        assertEquals(before, snapshot(root), "nothing written, nothing deleted");

        assertTrue(refused(Path.of(""), identity("attribute", 1)).getMessage().contains("empty path"));
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        assertTrue(refused(file, identity("attribute", 1)).getMessage().startsWith(file + ": exists and is not a folder"));
        assertEquals("x", Files.readString(file));
    }

    @Test
    void onlyHeadlensOwnLeftoversAreRemovedAndOnlyOnceTheFolderIsClaimed(@TempDir Path root) throws Exception {
        try (ResultFolder folder = ResultFolder.claim(root, identity("attribute", 1))) {
            folder.write("samples/a.json", "{}");
        }
        Path ours = Files.writeString(root.resolve("samples/.a.json.0123456789abcdef.headlens-partial"), "{\"id");
        Path oursAtTheTop = Files.writeString(root.resolve(".b.csv.fedcba9876543210.headlens-partial"), "x");
        List<Path> users = new ArrayList<>();
        users.add(Files.writeString(root.resolve("thesis.partial"), "mine"));
        users.add(Files.writeString(root.resolve("samples/.a.json123.partial"), "mine, in the old pattern"));
        users.add(Files.writeString(root.resolve(".x.headlens-partial"), "mine, without the random part"));
        Files.createDirectories(root.resolve("sub"));
        users.add(Files.writeString(root.resolve("sub/draft.partial"), "mine"));
        // a claim refused (another run's identity) leaves even headlens's own leftovers in place
        Map<String, String> before = snapshot(root);
        assertTrue(refused(root, identity("attribute", 2)).getMessage().contains("holds results of another run"));
        assertEquals(before, snapshot(root));

        try (ResultFolder folder = ResultFolder.claim(root, identity("attribute", 1))) {
            assertFalse(Files.exists(ours) || Files.exists(oursAtTheTop), "a killed run's temporary files are removed");
            for (Path user : users) {
                assertTrue(Files.exists(user), user + " is the user's and stays");
            }
        }
    }

    @Test
    void anotherRunsFolderIsRefusedNamingItsRunFileAndTheSameRunResumes(@TempDir Path root) throws Exception {
        try (ResultFolder folder = ResultFolder.claim(root, identity("attribute", 1))) {
            folder.write("notes.txt", "x");
        }
        HeadlensException e = refused(root, identity("attribute", 2));
        assertTrue(e.getMessage().startsWith(root.resolve(ResultFolder.RUN_FILE).toString()) && e.getMessage().contains("options differs"),
                e.getMessage());
        for (String content : new String[] {"{}", "not json", "[1,2]", "{\"command\": \"attribute\"}"}) {
            Files.writeString(root.resolve(ResultFolder.RUN_FILE), content);
            assertTrue(refused(root, identity("attribute", 1)).getMessage().startsWith(root.resolve(ResultFolder.RUN_FILE).toString()));
        }
        Files.delete(root.resolve(ResultFolder.RUN_FILE));
        assertTrue(refused(root, identity("attribute", 1)).getMessage().contains("holds notes.txt but no run.json"));
    }

    @Test
    void ofRunsClaimingOneFolderAtOnceExactlyOneGetsIt(@TempDir Path dir) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            for (int round = 0; round < 25; round++) {
                Path root = dir.resolve("round-" + round);
                CountDownLatch start = new CountDownLatch(1);
                AtomicInteger winners = new AtomicInteger();
                List<Future<ResultFolder>> claims = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    // half the threads the same run, half another: the same run is kept out by the lock, another by run.json
                    JsonObject identity = identity("attribute", t % 2);
                    claims.add(pool.submit(() -> {
                        start.await();
                        try {
                            ResultFolder folder = ResultFolder.claim(root, identity);
                            winners.incrementAndGet();
                            return folder;
                        } catch (HeadlensException e) {
                            assertFalse(e.getMessage().contains("\n"), e.getMessage());
                            assertTrue(e.getMessage().contains("another headlens run is writing to this folder now")
                                    || e.getMessage().contains("holds results of another run"), e.getMessage());
                            return null;
                        }
                    }));
                }
                start.countDown();
                ResultFolder winner = null;
                for (Future<ResultFolder> claim : claims) {
                    ResultFolder folder = claim.get(60, TimeUnit.SECONDS);
                    winner = folder != null ? folder : winner;
                }
                assertEquals(1, winners.get(), "round " + round);
                winner.close();
                String run = Files.readString(root.resolve(ResultFolder.RUN_FILE));
                assertEquals(winner.runId(), com.google.gson.JsonParser.parseString(run).getAsJsonObject().get("run_id").getAsString(),
                        "run.json is the winner's");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void runJsonIsCreatedByExactlyOneOfManyAtOnceAndAlwaysComplete(@TempDir Path dir) throws Exception {
        // what decides the claim where the file system has no locks
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            for (int round = 0; round < 40; round++) {
                Path target = dir.resolve("run-" + round + ".json");
                CountDownLatch start = new CountDownLatch(1);
                List<Future<Boolean>> creates = new ArrayList<>();
                for (int t = 0; t < 6; t++) {
                    String content = "{\"writer\": " + t + "}\n";
                    creates.add(pool.submit(() -> {
                        start.await();
                        return ResultFolder.createNew(target, content);
                    }));
                }
                start.countDown();
                int created = 0;
                for (Future<Boolean> create : creates) {
                    created += create.get(60, TimeUnit.SECONDS) ? 1 : 0;
                }
                assertEquals(1, created, "round " + round);
                assertTrue(Files.readString(target).matches("\\{\"writer\": \\d\\}\n"), Files.readString(target));
            }
            try (Stream<Path> left = Files.list(dir)) {
                assertEquals(0, left.filter(p -> p.toString().endsWith(ResultFolder.PARTIAL_SUFFIX)).count(), "no temporary file left");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aFolderHeldByAnotherProcessIsRefusedUntilItEnds(@TempDir Path root) throws Exception {
        Process holder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")), ClaimHolder.class.getName(),
                root.toString(), "attribute").redirectErrorStream(true).start();
        try {
            BufferedReader lines = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("claimed", lines.readLine());
            JsonObject same = new JsonObject();
            same.addProperty("command", "attribute");
            HeadlensException e = refused(root, same);
            assertTrue(e.getMessage().startsWith(root + ": another headlens run is writing to this folder now"), e.getMessage());
        } finally {
            holder.getOutputStream().close();
            assertTrue(holder.waitFor(60, TimeUnit.SECONDS));
        }
        JsonObject same = new JsonObject();
        same.addProperty("command", "attribute");
        ResultFolder.claim(root, same).close();
    }

    @Test
    void aSavedResultIsUsedOnlyWhenItProvesItsRunAndSample(@TempDir Path dir) throws Exception {
        Path image = Files.writeString(dir.resolve("a.png"), "pixels of a");
        Path otherImage = Files.writeString(dir.resolve("b.png"), "pixels of b");
        Path root = dir.resolve("run");
        AtomicInteger computed = new AtomicInteger();
        ResultFolder.SampleFile a = ResultFolder.SampleFile.of("samples", "a", image);
        ResultFolder.SampleFile b = ResultFolder.SampleFile.of("samples", "b", otherImage);
        Value valueA = new Value("a", Double.NaN, new double[] {1.5, -0.0, Double.POSITIVE_INFINITY});
        try (ResultFolder folder = ResultFolder.claim(root, identity("attribute", 1))) {
            ResultFolder.readOrCompute(folder, a, Value.class, () -> count(computed, valueA));
            ResultFolder.readOrCompute(folder, b, Value.class, () -> count(computed, new Value("b", 2, new double[] {3})));
            Value again = ResultFolder.readOrCompute(folder, a, Value.class, () -> count(computed, valueA));
            assertEquals(2, computed.get(), "the saved result is used");
            assertEquals(valueA.toString().replaceAll("@\\w+", ""), again.toString().replaceAll("@\\w+", ""));
            assertTrue(Double.isNaN(again.number()) && again.series()[2] == Double.POSITIVE_INFINITY, "NaN and infinity survive");
        }
        // another run's result for the same sample
        Path other = dir.resolve("other");
        try (ResultFolder folder = ResultFolder.claim(other, identity("attribute", 2))) {
            ResultFolder.readOrCompute(folder, a, Value.class, () -> new Value("a", 7, new double[] {7}));
        }
        Path fileA = root.resolve("samples/a.json");
        String original = Files.readString(fileA);
        Map<String, String> alterations = new TreeMap<>();
        alterations.put("{}", "has no 'headlens'");
        alterations.put("", "not a JSON object");
        alterations.put(original.substring(0, original.length() / 2), "not a JSON object");
        alterations.put(Files.readString(root.resolve("samples/b.json")), "holds the result of sample b, not of sample a");
        alterations.put(Files.readString(other.resolve("samples/a.json")), "belongs to another run");
        alterations.put(original.replace("1.5", "1.25"), "does not match its checksum");
        alterations.put(original.replaceFirst("\"result\": \\{", "\"result\": {\"unused\": 1, "), null);
        alterations.put(original.replace("\"number\": NaN,", ""), "does not match its checksum");
        alterations.put(original.replaceFirst("\"run_id\": \"[0-9a-f]+\"", "\"run_id\": 5"), "has no 'run_id'");
        alterations.put(original.replace(ResultFolder.sha256(image), ResultFolder.sha256(otherImage)), "another image");
        alterations.put("\u0000\u00ff garbage \uFFFD", "not a JSON object");
        alterations.put("[".repeat(100_000), "not a JSON object");
        for (Map.Entry<String, String> alteration : alterations.entrySet()) {
            Files.writeString(fileA, alteration.getKey());
            try (ResultFolder folder = ResultFolder.claim(root, identity("attribute", 1))) {
                if (alteration.getValue() == null) {
                    ResultFolder.readOrCompute(folder, a, Value.class, () -> count(computed, valueA));
                    assertEquals(2, computed.get(), "an added field is harmless");
                    continue;
                }
                HeadlensException e = assertThrows(HeadlensException.class,
                        () -> ResultFolder.readOrCompute(folder, a, Value.class, () -> count(computed, valueA)));
                assertTrue(e.getMessage().startsWith(fileA.toString()) && e.getMessage().contains(alteration.getValue())
                        && !e.getMessage().contains("\n"), alteration.getValue() + ": " + e.getMessage());
                assertEquals(alteration.getKey(), Files.readString(fileA), "a refused file is left as it was");
            }
        }
        assertEquals(2, computed.get(), "nothing was recomputed over a file that does not prove itself");

        // a result of this run and sample computed from another context is outdated and redone
        Files.writeString(fileA, original);
        try (ResultFolder folder = ResultFolder.claim(root, identity("attribute", 1))) {
            Value redone = ResultFolder.readOrCompute(folder, a.dependingOn("rankings 2"), Value.class,
                    () -> count(computed, new Value("a", 3, new double[0])));
            assertEquals(3, redone.number());
            assertEquals(3, computed.get());
            assertEquals(3, ResultFolder.readOrCompute(folder, a.dependingOn("rankings 2"), Value.class, () -> count(computed, valueA)).number());
            assertEquals(3, computed.get());
        }
    }

    private static Value count(AtomicInteger computed, Value value) {
        computed.incrementAndGet();
        return value;
    }

    @Test
    void sampleIdsThatCannotEachNameTheirOwnFileAreRefusedNamingBoth() {
        ResultFolder.checkSampleIds(List.of("eval-0001", "eval-0002", "a b", "ünïcode"), "labels.csv");
        HeadlensException duplicate = assertThrows(HeadlensException.class,
                () -> ResultFolder.checkSampleIds(List.of("x-1", "x-2", "x-3", "x-2"), "labels.csv"));
        assertEquals("labels.csv: samples 2 and 4 have the same id ('x-2' and 'x-2', letter case aside); each sample needs its own id,"
                + " which names its result file", duplicate.getMessage());
        assertTrue(assertThrows(HeadlensException.class, () -> ResultFolder.checkSampleIds(List.of("Star", "star"), "labels.csv"))
                .getMessage().contains("samples 1 and 2"));
        for (String bad : new String[] {"", ".hidden", "../x", "a/b", "a\\b", "c:d", "new\nline", "x".repeat(201)}) {
            HeadlensException e = assertThrows(HeadlensException.class, () -> ResultFolder.checkSampleIds(List.of("ok", bad), "labels.csv"));
            assertTrue(e.getMessage().startsWith("labels.csv: sample 2's id") && !e.getMessage().contains("\n"), e.getMessage());
        }
    }

    @Test
    void linksInTheFolderDoNotCarryWritesOutOfIt(@TempDir Path dir) throws Exception {
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Path root = dir.resolve("run");
        try (ResultFolder folder = ResultFolder.claim(root, identity("attribute", 1))) {
            Files.createSymbolicLink(root.resolve("samples"), outside);
            HeadlensException e = assertThrows(HeadlensException.class, () -> folder.write("samples/a.json", "{}"));
            assertTrue(e.getMessage().startsWith(root.resolve("samples") + ": leads outside the output folder"), e.getMessage());
        }
        Path lockless = Files.createDirectories(dir.resolve("lockless"));
        Files.createSymbolicLink(lockless.resolve(ResultFolder.LOCK_FILE), outside.resolve("created-through-a-link"));
        assertTrue(refused(lockless, identity("attribute", 1)).getMessage().contains(ResultFolder.LOCK_FILE));
        try (Stream<Path> files = Files.list(outside)) {
            assertEquals(0, files.count(), "nothing written outside");
        }
    }

    @Test
    void writtenFilesGetThePermissionsOfTheUmaskLikeAnyNewFile(@TempDir Path root) throws Exception {
        assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"));
        try (ResultFolder folder = ResultFolder.claim(root, identity("attribute", 1))) {
            folder.write("report.html", "<html></html>");
            folder.write("samples/a.json", "{}");
        }
        Set<PosixFilePermission> expected = Files.getPosixFilePermissions(Files.createFile(root.resolve("made-by-createFile")));
        for (String written : new String[] {"report.html", "samples/a.json", ResultFolder.RUN_FILE}) {
            assertEquals(expected, Files.getPosixFilePermissions(root.resolve(written)), written);
        }
        // with the usual umask 022, group and others can read what headlens wrote (not 0600 as before)
        if (expected.equals(java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"))) {
            Set<PosixFilePermission> report = Files.getPosixFilePermissions(root.resolve("report.html"));
            assertTrue(report.contains(PosixFilePermission.GROUP_READ) && report.contains(PosixFilePermission.OTHERS_READ), report.toString());
        }
    }
}
