package org.headlens.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.headlens.Messages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whatever the input quotes back (a prompt with line breaks, a 100,000-character path, a bad
 * processor field), the error is one line of at most {@link Messages#MAX_MESSAGE} characters,
 * without a Java exception name.
 */
class OneLineErrorsTest {
    private static final Path MODEL = Path.of("..", "datasets", "tiny-shapes", "model");
    private static final Path DATA = Path.of("..", "datasets", "tiny-shapes", "eval");

    private static void assertOneLine(VerifyModelCommandTest.Run run, String... expected) {
        assertEquals(2, run.status(), run.err());
        String err = run.err();
        assertTrue(err.endsWith("\n") && err.indexOf('\n') == err.length() - 1 && err.indexOf('\r') < 0, "one line: " + err);
        assertTrue(err.strip().length() <= Messages.MAX_MESSAGE, err.length() + " characters: " + err);
        assertFalse(err.contains("Exception") || err.contains("internal error"), err);
        for (String part : expected) {
            assertTrue(err.contains(part), part + " in " + err);
        }
    }

    @Test
    void promptsAndPathsWithLineBreaksOrMegabytesStayOneShortLine(@TempDir Path dir) {
        String prompt = "USER: <image>\nWhat is it?\r\n\u001b[31m" + "very long ".repeat(10_000);
        assertOneLine(VerifyModelCommandTest.run("evaluate", "--model", MODEL.toString(), "--data", DATA.toString(),
                "--prompt", prompt),
                "headlens evaluate: the prompt must end with the role marker \"ASSISTANT:\": \"USER: <image>\\nWhat is it?\\r\\n\\u001b[31m",
                "...");
        Path data = dir.resolve("line\nbreak" + "x".repeat(200)).resolve("y".repeat(100_000));
        assertOneLine(VerifyModelCommandTest.run("evaluate", "--data", data.toString()), "headlens evaluate: ", "line\\nbreak", "...");
    }

    @Test
    void aBadProcessorFieldIsANamedErrorNotAnInternalOne(@TempDir Path copy) throws Exception {
        try (var files = Files.list(MODEL)) {
            for (Path file : files.toList()) {
                Files.copy(file, copy.resolve(file.getFileName()));
            }
        }
        Path processor = copy.resolve("preprocessor_config.json");
        Files.writeString(processor, Files.readString(processor).replace("\"shortest_edge\": 64", "\"shortest_edge\": -64"));
        assertOneLine(VerifyModelCommandTest.run("evaluate", "--model", copy.toString(), "--data", DATA.toString()),
                "headlens evaluate: " + processor + ": size.shortest_edge is -64; it must be positive");
    }

    @Test
    void aHeadNumberBeyondAnIntIsANamedError(@TempDir Path out) {
        assertOneLine(VerifyModelCommandTest.run("trace", "--model", MODEL.toString(), "--data", DATA.toString(), "--out", out.toString(),
                "--samples", "1", "--heads", "L99999999999H1"), "head \"L99999999999H1\" has a layer or head number beyond 2147483647");
    }
}
