package org.headlens.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Without the spark module on the class path, {@code --spark} is refused in one line saying how
 * to get it, before anything is written; the arguments a worker gets parse back to the same options.
 */
class SparkOptionTest {
    @Test
    void sparkWithoutTheModuleSaysHowToGetItAndWritesNothing(@TempDir Path work) {
        for (String command : new String[] {"attribute", "trace"}) {
            Path out = work.resolve(command);
            VerifyModelCommandTest.Run run = VerifyModelCommandTest.run(command, "--model", AttributeCommandTest.MODEL.toString(), "--data",
                    AttributeCommandTest.DATA.toString(), "--out", out.toString(), "--samples", "2", "--spark", "local[2]");
            assertEquals(2, run.status(), run.out() + run.err());
            assertTrue(run.err().contains("headlens-spark module") && run.err().contains("mvn -pl spark -am package"), run.err());
            assertEquals(1, run.err().strip().lines().count(), run.err());
            assertFalse(Files.exists(out), "nothing written");
        }
    }

    @Test
    void workerArgumentsParseToTheSameOptions() {
        AttributeCommand command = new AttributeCommand();
        Options options = Options.parse("attribute", command.options(), new String[] {"--model", AttributeCommandTest.MODEL.toString(), "--data", AttributeCommandTest.DATA.toString(), "--out", "rel/out", "--masks", "60", "--keep-incorrect",
            "--prompt=--odd prompt <image>", "--spark", "local[2]", "--regression", "ridge", "--lambda", "0.5"}, Map.of());
        RunInputs inputs = RunInputs.read(options);
        String[] arguments = Workers.arguments(options, inputs, Map.of());
        Options parsed = Options.parse("attribute", command.options(), arguments, Map.of());
        assertFalse(parsed.given("spark"), "workers do not start Spark themselves");
        assertEquals(AttributeCommand.attributionOptions(options), AttributeCommand.attributionOptions(parsed));
        assertEquals("--odd prompt <image>", parsed.string("prompt", null));
        assertTrue(parsed.path("out", null).isAbsolute(), "a worker's working folder is not the driver's");
        assertEquals(Path.of("rel/out").toAbsolutePath().normalize(), parsed.path("out", null));
    }
}
