package org.headlens.model;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.nio.file.Path;
import java.util.Locale;
import org.headlens.forward.ForwardPass;
import org.headlens.forward.ForwardResult;

/**
 * Loads a model folder in a fresh JVM and prints what it cost, for tests that must see the
 * process's own resident memory (and for measuring real checkpoints by hand):
 * {@code LoadProbe DIR float16|widened|float32 [PASSES]}. Prints one line of
 * {@code key=value} pairs, sizes in bytes.
 */
public final class LoadProbe {
    private LoadProbe() {
    }

    /**
     * @param args folder, mode, and optionally the number of text-only forward passes to run
     */
    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        String mode = args[1];
        int passes = args.length > 2 ? Integer.parseInt(args[2]) : 0;
        System.setProperty("ai.djl.offline", "true");
        try (NDManager warm = NDManager.newBaseManager()) {
            // loads libtorch, so that the baseline includes it
            warm.create(new float[] {1, 2}).add(1).toFloatArray();
        }
        long baseline = Memory.residentBytes();
        Lvlm.LoadOptions options = mode.equals("widened") ? Lvlm.LoadOptions.of(DataType.FLOAT16, DataType.FLOAT32)
                : Lvlm.LoadOptions.defaults().withComputeType(mode.equals("float16") ? DataType.FLOAT16 : DataType.FLOAT32);
        long start = System.nanoTime();
        try (Lvlm model = Lvlm.load(dir, options)) {
            double loadSeconds = (System.nanoTime() - start) / 1e9;
            long loadedPeak = Memory.peakResidentBytes();
            long loadedResident = Memory.residentBytes();
            long afterFirst = -1;
            double passSeconds = 0;
            long[] ids = {1, 450, 1788, 338, 263, 1243, 29973, 13};
            for (int i = 0; i < passes; i++) {
                long passStart = System.nanoTime();
                try (ForwardResult result = ForwardPass.run(model, ids, null)) {
                    float[] logits = result.finalLogits();
                    for (float value : logits) {
                        if (!Float.isFinite(value)) {
                            throw new IllegalStateException("non-finite logit in pass " + i);
                        }
                    }
                }
                passSeconds = (System.nanoTime() - passStart) / 1e9;
                if (i == 1 || passes == 1) {
                    afterFirst = Memory.residentBytes();
                }
            }
            System.out.printf(Locale.ROOT, "probe: baseline=%d load_seconds=%.2f loaded_peak=%d loaded_resident=%d after_second_pass=%d"
                    + " final_resident=%d final_peak=%d last_pass_seconds=%.3f storage=%s compute=%s%n", baseline, loadSeconds, loadedPeak,
                    loadedResident, afterFirst, Memory.residentBytes(), Memory.peakResidentBytes(), passSeconds, model.storageType(),
                    model.computeType());
        }
    }
}
