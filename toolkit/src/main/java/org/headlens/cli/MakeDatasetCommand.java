package org.headlens.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import org.headlens.data.ShapesDataset;
import org.headlens.data.SyntheticShapes;
import org.headlens.data.TinyModel;

/** {@code make-dataset}: renders a split of the synthetic shapes dataset to PNG files and labels. */
final class MakeDatasetCommand implements Main.Command {
    @Override
    public String summary() {
        return "render synthetic shapes: --out DIR [--count 256] [--seed 2026] [--split eval]";
    }

    @Override
    public int run(Options options, PrintStream out) {
        Path dir = options.path("out", null);
        int count = options.integer("count", 256);
        String split = options.string("split", "eval");
        ShapesDataset.write(dir, new SyntheticShapes(TinyModel.IMAGE_SIZE, options.integer("seed", 2026)).samples(split, count));
        out.printf("make-dataset: wrote %d samples to %s%n", count, dir);
        return 0;
    }
}
