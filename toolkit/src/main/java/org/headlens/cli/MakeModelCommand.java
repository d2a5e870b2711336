package org.headlens.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.headlens.model.CheckpointWriter;
import org.headlens.model.Memory;
import org.headlens.model.Release;

/**
 * {@code make-model}: writes a randomly initialised checkpoint with the exact layout of a public
 * release (config.json, parameter names, shapes, dtype, shards and index), to measure memory and
 * time on real sizes without downloading anything.
 */
final class MakeModelCommand implements Main.Command {
    @Override
    public String summary() {
        return "write a random checkpoint shaped like a public release (for memory and speed measurements)";
    }

    @Override
    public List<Options.Option> options() {
        return List.of(
                Options.Option.choice("like", "the release whose config, names, shapes and shards are copied: "
                        + String.join(", ", Release.ALL.stream().map(r -> r.name() + " (" + r.hubId() + ")").toList()),
                        Release.ALL.stream().map(Release::name).toArray(String[]::new)).mandatory(),
                Options.Option.path("out", "DIR", "model folder to write (new or empty)").mandatory(),
                Options.Option.choice("dtype", "dtype of the tensors (default the release's own torch_dtype)",
                        CheckpointWriter.DTYPES.toArray(String[]::new)),
                Options.Option.integer("layers", "keep only the first N decoder layers and N vision layers (a slice for tests and"
                        + " benchmarks); default all", 1, 1000),
                Options.Option.integer("seed", "seed of the random values", 0, Integer.MAX_VALUE).byDefault(2026),
                Options.Option.flag("plan", "print the layout (shards, sizes) and write nothing"));
    }

    @Override
    public int run(Options options, PrintStream out) {
        Release release = Release.named(options.string("like", null));
        String dtype = options.string("dtype", release.publishedDtype());
        int layers = options.given("layers") ? options.integer("layers", 0) : 0;
        CheckpointWriter.Layout layout = CheckpointWriter.plan(release, dtype, layers, 0);
        out.printf(Locale.ROOT, "make-model: %s%s, %s, %,d parameters, %d shard(s), %s%n", release.hubId(),
                layers > 0 ? " (first " + layers + " layers)" : "", dtype, layout.parameterCount(), layout.shards().size(),
                Memory.gigabytes(layout.totalBytes()));
        if (options.flag("plan")) {
            int bytes = layout.dtype().equals("F32") ? 4 : 2;
            for (int i = 0; i < layout.shards().size(); i++) {
                List<Release.Parameter> shard = layout.shards().get(i);
                long size = shard.stream().mapToLong(p -> p.size() * bytes).sum();
                out.printf(Locale.ROOT, "  %s: %d tensors, %,d bytes, from %s to %s%n", layout.shardNames().get(i), shard.size(), size,
                        shard.get(0).name(), shard.get(shard.size() - 1).name());
            }
            return 0;
        }
        Path dir = Main.freshFolder(options.path("out", null));
        long start = System.nanoTime();
        CheckpointWriter.write(layout, dir, options.integer("seed", 2026), out);
        double seconds = (System.nanoTime() - start) / 1e9;
        out.printf(Locale.ROOT, "make-model: wrote %s in %.1f s to %s (peak resident memory %s)%n", Memory.gigabytes(layout.totalBytes()),
                seconds, dir, Memory.gigabytes(Memory.peakResidentBytes()));
        return 0;
    }
}
