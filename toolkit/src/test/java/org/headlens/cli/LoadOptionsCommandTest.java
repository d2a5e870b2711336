package org.headlens.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.headlens.Fixtures;
import org.junit.jupiter.api.Test;

/** {@code --dtype}, {@code --compute} and {@code --device} on every command that loads a model. */
class LoadOptionsCommandTest {
    @Test
    void everyCommandThatLoadsAModelTakesDtypeAndCompute() {
        int checked = 0;
        for (Map.Entry<String, Main.Command> command : Main.commands().entrySet()) {
            List<String> names = command.getValue().options().stream().map(Options.Option::name).toList();
            if (names.contains("model")) {
                assertTrue(names.contains("dtype") && names.contains("compute") && names.contains("device"), command.getKey() + " takes " + names);
                checked++;
            }
        }
        assertEquals(6, checked, "verify-model, evaluate, attribute, trace, demo and bench load a model");
    }

    @Test
    void float16WeightsComputedInFloat32AreWhatTheCommandLoads() {
        Path dir = Fixtures.model("llava-clip-llama");
        VerifyModelCommandTest.Run run = VerifyModelCommandTest.run("verify-model", "--model", dir.toString(), "--fixtures", dir.toString(),
                "--dtype", "float16", "--compute", "float32", "--tolerance", "1");
        assertEquals(0, run.status(), run.out() + run.err());
        assertTrue(run.out().contains("float16 weights computed in float32"), run.out());
        run = VerifyModelCommandTest.run("verify-model", "--model", dir.toString(), "--fixtures", dir.toString(), "--dtype", "float16",
                "--tolerance", "1");
        assertTrue(run.out().contains(", float16]"), run.out());
    }

    @Test
    void aDeviceThisPyTorchCannotUseIsRefusedInOneLine() {
        Path dir = Fixtures.model("llava-clip-llama");
        // the CPU build of PyTorch that Maven Central has sees no GPU, whatever the machine has
        VerifyModelCommandTest.Run run = VerifyModelCommandTest.run("verify-model", "--model", dir.toString(), "--fixtures", dir.toString(),
                "--device", "gpu:1");
        assertEquals(2, run.status(), run.out() + run.err());
        assertTrue(run.err().contains("--device gpu:1: PyTorch here sees 0 GPU(s)"), run.err());
        assertEquals(1, run.err().strip().lines().count(), run.err());
        run = VerifyModelCommandTest.run("verify-model", "--model", dir.toString(), "--fixtures", dir.toString(), "--device", "tpu");
        assertTrue(run.err().contains("--device: 'tpu' is not a device; use cpu, gpu or gpu:N"), run.err());
        run = VerifyModelCommandTest.run("verify-model", "--model", dir.toString(), "--fixtures", dir.toString(), "--device", "cpu",
                "--tolerance", "1");
        assertEquals(0, run.status(), run.out() + run.err());
    }

    @Test
    void computingNarrowerThanTheWeightsIsRefusedInOneLine() {
        Path dir = Fixtures.model("llava-clip-llama");
        VerifyModelCommandTest.Run run = VerifyModelCommandTest.run("verify-model", "--model", dir.toString(), "--dtype", "float32",
                "--compute", "float16");
        assertEquals(2, run.status(), run.out() + run.err());
        assertEquals(1, run.err().strip().lines().count(), run.err());
        assertTrue(run.err().contains("cannot be computed in the narrower"), run.err());
    }
}
