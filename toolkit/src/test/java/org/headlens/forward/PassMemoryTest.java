package org.headlens.forward;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.headlens.Probes;
import org.junit.jupiter.api.Test;

/**
 * A pass frees each layer's intermediates when the layer ends: its peak memory must not grow
 * with the number of layers. Before, a prefix held every layer's attention scores and MLP
 * activations until the pass ended, and LLaVA-1.5-7B's prefix was killed at 24 GB.
 */
class PassMemoryTest {
    private static Map<String, Long> probe(int layers) throws Exception {
        Map<String, Long> values = new HashMap<>();
        Probes.run(List.of("-Xmx256m"), PassMemoryProbe.class, String.valueOf(layers)).forEach((key, value) -> values.put(key, Long.parseLong(value)));
        return values;
    }

    @Test
    void peakMemoryOfAPassDoesNotGrowWithDepth() throws Exception {
        assumeTrue(Files.isWritable(Path.of("/proc/self/clear_refs")), "needs Linux's /proc/self/clear_refs to reset the peak");
        Map<String, Long> shallow = probe(2);
        Map<String, Long> deep = probe(16);
        // per layer, about 100 MB of scores and activations at 606 positions and 16 heads; 14 more
        // layers kept until the end of the pass would add well over 1 GB
        // the measurement sees a pass's work: one layer's scores alone are 16 x 606 x 606 floats
        // (23 MB), so a peak below that means the probe measured nothing
        assertTrue(shallow.get("recompute_peak") > 23L << 20, "a pass of 2 layers needs memory: " + shallow.get("recompute_peak"));
        for (String step : List.of("prefix_peak", "recompute_peak")) {
            long added = deep.get(step) - shallow.get(step);
            assertTrue(added < 150L << 20, step + ": 16 layers peaked " + (added >> 20) + " MB above 2 layers ("
                    + (shallow.get(step) >> 20) + " MB)");
        }
    }
}
