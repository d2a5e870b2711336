package org.headlens.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An attribution run killed with SIGKILL (kill -9) mid-run leaves only complete files, and the
 * same command resumes it to exactly the tables of an uninterrupted run.
 */
class KilledRunResumesTest {
    private static String[] arguments(Path out) {
        return new String[] {"attribute", "--model", AttributeCommandTest.MODEL.toString(), "--data", AttributeCommandTest.DATA.toString(),
            "--out", out.toString(), "--samples", "10", "--masks", "64", "--held-out", "16", "--curve-points", "5", "--seed", "2"};
    }

    @Test
    void aKilledRunResumesWithoutGapsOrDuplicates(@TempDir Path killed, @TempDir Path fresh) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true", "-cp", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
                "org.headlens.cli.Main"));
        command.addAll(List.of(arguments(killed)));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        long deadline = System.nanoTime() + 180_000_000_000L;
        while (jsonFiles(killed.resolve("samples")) < 3 && process.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(10); // a fast machine saves a sample every ~0.1 s: look often enough to kill it part way
        }
        assertTrue(process.isAlive(), "the run is still going when it is killed");
        process.destroyForcibly(); // SIGKILL on Linux and macOS: no shutdown hooks, no finally blocks
        process.waitFor();
        int before = jsonFiles(killed.resolve("samples"));
        assertTrue(before >= 3 && before < 10, "killed part way: " + before + " samples saved");
        try (Stream<Path> files = Files.walk(killed)) {
            for (Path file : files.filter(p -> p.toString().endsWith(".json")).toList()) {
                JsonParser.parseString(Files.readString(file)); // complete: every saved file parses
            }
        }

        VerifyModelCommandTest.Run resumed = VerifyModelCommandTest.run(arguments(killed));
        assertEquals(0, resumed.status(), resumed.out() + resumed.err());
        assertEquals(10, jsonFiles(killed.resolve("samples")), "every sample once");
        try (Stream<Path> files = Files.walk(killed)) {
            assertEquals(0, files.filter(p -> p.getFileName().toString().endsWith(org.headlens.results.ResultFolder.PARTIAL_SUFFIX)).count(),
                    "no temporary files left");
        }
        VerifyModelCommandTest.Run uninterrupted = VerifyModelCommandTest.run(arguments(fresh));
        assertEquals(0, uninterrupted.status(), uninterrupted.err());
        for (String table : new String[] {"samples", "heads", "curves", "areas", "similarity"}) {
            assertEquals(Files.readString(fresh.resolve(table + ".csv")), Files.readString(killed.resolve(table + ".csv")), table);
        }
    }

    private static int jsonFiles(Path folder) throws Exception {
        if (!Files.isDirectory(folder)) {
            return 0;
        }
        try (Stream<Path> files = Files.list(folder)) {
            return (int) files.filter(p -> p.getFileName().toString().endsWith(".json")).count();
        }
    }
}
