package org.headlens.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.headlens.data.ShapesDataset;
import org.headlens.data.SyntheticShapes;
import org.headlens.data.TinyModel;

/** {@code make-dataset}: renders a split of the synthetic shapes dataset to PNG files and labels. */
final class MakeDatasetCommand implements Main.Command {
    @Override
    public String summary() {
        return "render synthetic shapes to PNG files and labels.csv";
    }

    @Override
    public List<Options.Option> options() {
        return List.of(Options.Option.path("out", "DIR", "dataset folder to write").mandatory(),
                Options.Option.integer("count", "samples to render", 1, 1_000_000).byDefault(256),
                Options.Option.integer("seed", "seed of the renderer", 0, Integer.MAX_VALUE).byDefault(2026),
                Options.Option.text("split", "NAME", "split name, the prefix of the sample ids")
                        .matching("[A-Za-z0-9_-]{1,64}", "letters, digits, '_' and '-' (at most 64)").byDefault("eval"));
    }

    @Override
    public int run(Options options, PrintStream out) {
        Path dir = Main.freshFolder(options.path("out", null));
        int count = options.integer("count", 256);
        String split = options.string("split", "eval");
        ShapesDataset.write(dir, new SyntheticShapes(TinyModel.IMAGE_SIZE, options.integer("seed", 2026)).samples(split, count));
        out.printf("make-dataset: wrote %d samples to %s%n", count, dir);
        return 0;
    }
}
