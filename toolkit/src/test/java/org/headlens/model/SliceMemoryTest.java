package org.headlens.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.headlens.Probes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Memory accounting on a 2-layer slice of LLaVA-1.5-7B's shapes in float16 (1.43 GB: the full
 * 32064 x 4096 embedding and head, two full decoder layers and two CLIP layers), each load in a
 * fresh JVM with a 256 MB heap and 64 MB of direct memory, as a notebook kernel might have:
 * loading must not depend on either, and must hold the checkpoint at most 1.25 times over.
 */
class SliceMemoryTest {
    private static Path folder;
    private static long checkpointBytes;

    @BeforeAll
    static void writeSlice() throws Exception {
        folder = Files.createTempDirectory("headlens-slice");
        assumeTrue(Files.getFileStore(folder).getUsableSpace() > 4L << 30, "needs 4 GB of disk");
        assumeTrue(Memory.availableBytes() < 0 || Memory.availableBytes() > 6L << 30, "needs 6 GB of memory");
        CheckpointWriter.Layout layout = CheckpointWriter.plan(Release.named("llava-1.5-7b"), "float16", 2, 0);
        CheckpointWriter.write(layout, folder, 1, null);
        checkpointBytes = layout.totalBytes();
    }

    @AfterAll
    static void deleteSlice() throws Exception {
        if (folder != null) {
            try (var files = Files.list(folder)) {
                for (Path file : (Iterable<Path>) files::iterator) {
                    Files.delete(file);
                }
            }
            Files.delete(folder);
        }
    }

    /** Runs {@link LoadProbe} in a child JVM with small heap and direct-memory limits. */
    private static Map<String, String> probe(String mode, int passes) throws Exception {
        return Probes.run(List.of("-Xmx256m", "-XX:MaxDirectMemorySize=64m"), LoadProbe.class, folder.toString(), mode, String.valueOf(passes));
    }

    @Test
    void float16LoadHoldsTheCheckpointOnceWhateverTheJvmLimits() throws Exception {
        Map<String, String> probe = probe("float16", 0);
        long added = Long.parseLong(probe.get("loaded_peak")) - Long.parseLong(probe.get("baseline"));
        System.out.printf("float16: checkpoint %.3f GB, peak above the JVM's baseline %.3f GB (%.2fx)%n", checkpointBytes / 1e9, added / 1e9,
                added / (double) checkpointBytes);
        assertTrue(added <= 1.25 * checkpointBytes, "peak " + added + " bytes above the baseline for a checkpoint of " + checkpointBytes);
        assertTrue(added >= 0.9 * checkpointBytes, "the weights are resident: " + added);
    }

    @Test
    void widenedStepsAddOnlyTheirWidenedArraysAndDoNotGrowOverALongRun() throws Exception {
        Map<String, String> probe = probe("widened", 12);
        assertEquals("float16", probe.get("storage").toLowerCase(java.util.Locale.ROOT));
        long baseline = Long.parseLong(probe.get("baseline"));
        // the largest weight widened for its step (the head), and the decoder's kept arrays, one per shape (Widening)
        long largestWidened = 32064L * 4096 * 4 + (4096L * 4096 + 2L * 11008 * 4096) * 4;
        long peak = Long.parseLong(probe.get("final_peak")) - baseline;
        long growth = Long.parseLong(probe.get("final_resident")) - Long.parseLong(probe.get("after_second_pass"));
        System.out.printf("widened: peak above baseline %.3f GB; resident growth over 10 passes %.1f MB%n", peak / 1e9, growth / 1e6);
        assertTrue(peak <= 1.25 * checkpointBytes + largestWidened, "peak " + peak + " bytes above the baseline");
        assertTrue(growth < 64L << 20, "resident memory grew by " + growth + " bytes over 10 passes");
    }
}
