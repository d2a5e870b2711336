package org.headlens.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.headlens.data.TinyTrainer;

/** {@code train-tiny}: trains the embedded tiny LLaVA from scratch and writes its folder. */
final class TrainTinyCommand implements Main.Command {
    @Override
    public String summary() {
        return "train the tiny LLaVA on synthetic shapes";
    }

    @Override
    public List<Options.Option> options() {
        TinyTrainer defaults = TinyTrainer.defaults(1);
        return List.of(Options.Option.path("out", "DIR", "folder the model is written to").mandatory(),
                Options.Option.integer("seed", "seed of data and weights", 0, Integer.MAX_VALUE).byDefault(defaults.seed()),
                Options.Option.integer("vision-steps", "steps of the vision stage", 0, 10_000_000).byDefault(defaults.visionSteps()),
                Options.Option.integer("steps", "steps of the language stage", 1, 10_000_000).byDefault(defaults.steps()),
                Options.Option.integer("batch", "samples per step", 1, 4096).byDefault(defaults.batch()),
                Options.Option.number("learning-rate", "Adam's learning rate", 0, true, 1, false).byDefault(defaults.learningRate()));
    }

    @Override
    public int run(Options options, PrintStream out) {
        Path dir = Main.freshFolder(options.path("out", null));
        TinyTrainer defaults = TinyTrainer.defaults(options.integer("seed", 1));
        TinyTrainer trainer = new TinyTrainer(options.integer("vision-steps", defaults.visionSteps()),
                options.integer("steps", defaults.steps()), options.integer("batch", defaults.batch()),
                options.number("learning-rate", defaults.learningRate()), defaults.seed(), defaults.layers(), defaults.heads(), defaults.hidden());
        long start = System.nanoTime();
        for (TinyTrainer.Loss loss : trainer.train(dir, out)) {
            out.printf("train-tiny: %s loss %.4f -> %.4f, accuracy %.3f%n", loss.name(), loss.first(), loss.last(), loss.accuracy());
        }
        out.printf("train-tiny: wrote %s in %.0f s%n", dir, (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
