package org.headlens.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.headlens.Fixtures;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code bench --model} on folders of the families other than LLaVA-1.5, with and without reference inputs. */
class BenchCommandTest {
    private static final Pattern SUMMARY = Pattern.compile(
            "bench: speedup=(\\S+)x masks_per_s=(\\S+) flop_fraction=(\\S+) peak_rss_gb=(\\S+)");

    @ParameterizedTest
    @ValueSource(strings = {"llava-next-clip-llama", "qwen2-vl"})
    void benchesAFamilyFolderAndEndsWithTheSummaryLine(String name, @TempDir Path copy) throws Exception {
        Path dir = Fixtures.model(name);
        // the bare checkpoint (as make-model writes it): no reference inputs, so the prompt and image are synthetic
        for (String file : new String[] {"config.json", "model.safetensors", "preprocessor_config.json"}) {
            Files.copy(dir.resolve(file), copy.resolve(file));
        }
        // LLaVA-NeXT with its reference inputs, Qwen2-VL bare
        for (Path folder : new Path[] {name.startsWith("qwen") ? copy : dir}) {
            VerifyModelCommandTest.Run run = VerifyModelCommandTest.run("bench", "--model", folder.toString(), "--masks", "6",
                    "--text-tokens", "5");
            assertEquals(0, run.status(), run.out() + run.err());
            String out = run.out();
            assertTrue(out.matches("(?s).*load: " + Pattern.quote(folder.toString())
                    + " \\(float32 weights, float32 arithmetic\\) in [0-9.]+ s, peak resident [0-9.]+ GB.*"), out);
            assertTrue(out.matches("(?s).*peak: float32 2048x2048 matrix product at [0-9.]+ GFLOP/s.*"), out);
            for (String method : new String[] {"full recompute, 1 mask per pass", "expert: prefix cached, 1 mask per pass",
                "fast path, no shortcuts", "fast path (", "same, attribution mix"}) {
                assertTrue(out.contains(method), method + " in\n" + out);
            }
            if (folder.equals(copy)) {
                assertTrue(out.contains("+ 5 text tokens)"), "a synthetic prompt with 5 text tokens:\n" + out);
            }
            String[] lines = out.strip().split("\n");
            Matcher m = SUMMARY.matcher(lines[lines.length - 1]);
            assertTrue(m.matches(), lines[lines.length - 1]);
            for (int group = 1; group <= 4; group++) {
                double value = Double.parseDouble(m.group(group));
                assertTrue(Double.isFinite(value) && value > 0 || group == 3 && value == 0, m.group(0));
            }
            assertTrue(Double.parseDouble(m.group(4)) < 64, "peak resident memory in GB: " + m.group(0));
        }
    }
}
