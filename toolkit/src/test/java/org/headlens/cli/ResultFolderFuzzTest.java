package org.headlens.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.headlens.results.ResultFolder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A finished attribution folder, mutated many ways (sample files truncated, emptied, swapped,
 * taken from another run, garbled; run.json deleted or changed; the user's own files added) and
 * resumed each time: every resume reproduces the finished run's tables exactly or is refused in
 * one line naming a file of the folder; none mixes results, deletes a file headlens did not
 * write, or fails any other way.
 */
class ResultFolderFuzzTest {
    private static final int MUTATIONS = Integer.getInteger("headlens.fuzz.folders", 48);
    private static final String[] TABLES = {"samples", "heads", "per_sample_heads", "curves", "areas", "similarity"};

    private static String[] arguments(Path out, int seed, int samples) {
        return new String[] {"attribute", "--model", AttributeCommandTest.MODEL.toString(), "--data", AttributeCommandTest.DATA.toString(),
            "--out", out.toString(), "--samples", Integer.toString(samples), "--masks", "8", "--held-out", "4", "--regression", "ridge",
            "--curve-points", "3", "--seed", Integer.toString(seed)};
    }

    /** How one copy is resumed, and which finished run it must then equal. */
    private record Resume(int seed, int samples) {
    }

    @Test
    void everyResumeOfAMutatedFolderReproducesTheRunOrIsRefusedNamingAFile(@TempDir Path dir) throws Exception {
        Path pristine = dir.resolve("pristine");
        Path other = dir.resolve("other");
        VerifyModelCommandTest.Run first = VerifyModelCommandTest.run(arguments(pristine, 1, 3));
        assertEquals(0, first.status(), first.err());
        VerifyModelCommandTest.Run second = VerifyModelCommandTest.run(arguments(other, 2, 2));
        assertEquals(0, second.status(), second.err());
        Map<Integer, Map<String, String>> expected = Map.of(1, tables(pristine), 2, tables(other));
        assertEquals(4, expected.get(1).get("samples").strip().split("\n").length, "a header and a row per sample");

        Random random = new Random(20261126);
        int[] outcomes = new int[2];
        List<String> refusals = new ArrayList<>();
        for (int i = 0; i < MUTATIONS; i++) {
            Path copy = dir.resolve("copy-" + i);
            copyFolder(pristine, copy);
            Map<String, String> users = new LinkedHashMap<>();
            int kind = i % 12;
            Resume resume = mutate(kind, copy, other, users, random);
            Map<String, String> before = files(copy);
            VerifyModelCommandTest.Run run = VerifyModelCommandTest.run(arguments(copy, resume.seed(), resume.samples()));
            String what = "mutation " + i + " (kind " + kind + ")";
            if (run.status() == 0) {
                Map<String, String> tables = tables(copy);
                assertEquals(expected.get(resume.seed()), tables, what + ": a resume that is accepted reproduces the finished run");
                outcomes[0]++;
            } else {
                assertEquals(2, run.status(), what + " failed other than by refusal: " + run.err());
                String line = run.err().strip();
                assertFalse(line.contains("\n") || line.contains("internal error") || line.contains("Exception"), what + ": " + run.err());
                assertTrue(line.startsWith("headlens attribute: " + copy), what + ": the refusal names a file of the folder: " + line);
                refusals.add(line.substring(("headlens attribute: " + copy).length()));
                outcomes[1]++;
            }
            Map<String, String> after = files(copy);
            for (Map.Entry<String, String> file : before.entrySet()) {
                boolean ours = file.getKey().matches("(.*/)?\\..+\\.[0-9a-f]{16}\\.headlens-partial");
                assertTrue(ours || after.containsKey(file.getKey()), what + ": " + file.getKey() + " was deleted");
            }
            for (Map.Entry<String, String> user : users.entrySet()) {
                assertEquals(user.getValue(), after.get(user.getKey()), what + ": the user's " + user.getKey() + " is untouched");
            }
            deleteFolder(copy);
        }
        System.out.printf("fuzz: %d mutated folders resumed to identical tables, %d refused naming a file%n", outcomes[0], outcomes[1]);
        refusals.stream().map(r -> r.replaceAll("[0-9a-f]{12}", "<id>")).distinct().limit(12).forEach(r -> System.out.println("  refused: " + r));
        assertTrue(outcomes[0] >= MUTATIONS / 6 && outcomes[1] >= MUTATIONS / 3, "both outcomes occur: " + Arrays.toString(outcomes));
    }

    /** Mutates {@code copy}, records the files it adds as the user's, and says how to resume it. */
    private static Resume mutate(int kind, Path copy, Path other, Map<String, String> users, Random random) throws Exception {
        Path sampleFile = pick(copy, random);
        byte[] bytes = Files.readAllBytes(sampleFile);
        switch (kind) {
            case 0: // truncated anywhere
                Files.write(sampleFile, Arrays.copyOf(bytes, random.nextInt(bytes.length)));
                return new Resume(1, 3);
            case 1: // emptied to an object without fields
                Files.writeString(sampleFile, random.nextBoolean() ? "{}" : "{\"result\": {}}");
                return new Resume(1, 3);
            case 2: { // another sample's file, or the other kind of file of the same sample
                Path swapped = copy.resolve(copy.relativize(sampleFile).toString().startsWith("samples") ? "curves" : "samples")
                        .resolve(sampleFile.getFileName());
                Files.copy(random.nextBoolean() && Files.exists(swapped) ? swapped : pick(copy, random), sampleFile,
                        StandardCopyOption.REPLACE_EXISTING);
                return new Resume(1, 3);
            }
            case 3: { // garbage
                byte[] garbage = new byte[1 + random.nextInt(4096)];
                random.nextBytes(garbage);
                Files.write(sampleFile, garbage);
                return new Resume(1, 3);
            }
            case 4: { // the same sample's file from another run (other seed)
                Path theirs = other.resolve(copy.relativize(sampleFile).toString());
                if (Files.exists(theirs)) {
                    Files.copy(theirs, sampleFile, StandardCopyOption.REPLACE_EXISTING);
                } else {
                    Files.copy(other.resolve("samples/eval-0000.json"), sampleFile, StandardCopyOption.REPLACE_EXISTING);
                }
                return new Resume(1, 3);
            }
            case 5: // run.json deleted, resumed with the same or another seed
                Files.delete(copy.resolve(ResultFolder.RUN_FILE));
                return random.nextBoolean() ? new Resume(1, 3) : new Resume(2, 2);
            case 6: { // run.json changed
                Path run = copy.resolve(ResultFolder.RUN_FILE);
                JsonObject json = JsonParser.parseString(Files.readString(run)).getAsJsonObject();
                switch (random.nextInt(6)) {
                    case 0:
                        json.getAsJsonObject("attribution_options").addProperty("seed", 2);
                        break;
                    case 1:
                        json.addProperty("prompt", "USER: <image>\nWhat colour? ASSISTANT:");
                        break;
                    case 2:
                        json.addProperty("run_id", "0".repeat(64)); // informative only: the identity is what counts
                        break;
                    case 3:
                        json.addProperty("note", "added by the user");
                        break;
                    case 4:
                        Files.writeString(run, random.nextBoolean() ? "{}" : "garbage");
                        return new Resume(1, 3);
                    default:
                        Files.writeString(run, Files.readString(run).substring(0, random.nextInt(50)));
                        return new Resume(1, 3);
                }
                Files.writeString(run, json.toString());
                return new Resume(1, 3);
            }
            case 7: { // the user's own files, and a stray temporary file of headlens's
                for (String name : new String[] {"notes.txt", "thesis.partial", "sub/draft.partial", "samples/extra.json", ".samples.csv.partial",
                    "samples/.eval-0000.json.1234.partial", "x.headlens-partial"}) {
                    Path file = copy.resolve(name);
                    Files.createDirectories(file.getParent());
                    Files.writeString(file, "the user's " + name);
                    users.put(name, "the user's " + name);
                }
                Files.writeString(copy.resolve("samples/.eval-0001.json.0123456789abcdef.headlens-partial"), "{\"headlens\": \"per-sa");
                return new Resume(1, 3);
            }
            case 8: // a result or table deleted: computed or written again
                Files.delete(random.nextBoolean() ? sampleFile : copy.resolve(TABLES[random.nextInt(TABLES.length)] + ".csv"));
                return new Resume(1, 3);
            case 9: { // one byte changed
                int at = random.nextInt(bytes.length);
                bytes[at] = (byte) (bytes[at] ^ (1 + random.nextInt(255)));
                Files.write(sampleFile, bytes);
                return new Resume(1, 3);
            }
            case 10: // the other run's run.json, resumed as that run: this run's sample files must not be taken for its own
                Files.copy(other.resolve(ResultFolder.RUN_FILE), copy.resolve(ResultFolder.RUN_FILE), StandardCopyOption.REPLACE_EXISTING);
                return new Resume(2, 2);
            default: { // a sample file replaced by a folder or a link to another sample's file
                Files.delete(sampleFile);
                if (random.nextBoolean()) {
                    Files.createDirectories(sampleFile);
                } else {
                    Files.createSymbolicLink(sampleFile, pick(copy, random).toAbsolutePath());
                }
                return new Resume(1, 3);
            }
        }
    }

    /** @return a random per-sample result file of the folder */
    private static Path pick(Path folder, Random random) throws Exception {
        List<Path> files = new ArrayList<>();
        for (String sub : new String[] {"samples", "curves"}) {
            try (Stream<Path> list = Files.list(folder.resolve(sub))) {
                list.filter(p -> p.toString().endsWith(".json") && Files.isRegularFile(p)).sorted().forEach(files::add);
            }
        }
        return files.get(random.nextInt(files.size()));
    }

    private static Map<String, String> tables(Path folder) throws Exception {
        Map<String, String> tables = new TreeMap<>();
        for (String table : TABLES) {
            tables.put(table, Files.readString(folder.resolve(table + ".csv")));
        }
        return tables;
    }

    /** @return every regular file under {@code folder} (links not followed) with its content */
    private static Map<String, String> files(Path folder) throws Exception {
        Map<String, String> files = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(folder)) {
            for (Path file : walk.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).toList()) {
                files.put(folder.relativize(file).toString(), new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1));
            }
        }
        return files;
    }

    private static void copyFolder(Path from, Path to) throws Exception {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path path : walk.toList()) {
                Path target = to.resolve(from.relativize(path).toString());
                if (Files.isDirectory(path)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(path, target);
                }
            }
        }
    }

    private static void deleteFolder(Path folder) throws Exception {
        try (Stream<Path> walk = Files.walk(folder)) {
            for (Path path : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }
}
