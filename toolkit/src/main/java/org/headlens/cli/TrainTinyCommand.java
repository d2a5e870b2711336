package org.headlens.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import org.headlens.data.TinyTrainer;

/** {@code train-tiny}: trains the embedded tiny LLaVA from scratch and writes its folder. */
final class TrainTinyCommand implements Main.Command {
    @Override
    public String summary() {
        TinyTrainer defaults = TinyTrainer.defaults(1);
        return "train the tiny LLaVA on synthetic shapes: --out DIR [--seed 1] [--vision-steps " + defaults.visionSteps() + "] [--steps "
                + defaults.steps() + "] [--batch " + defaults.batch() + "] [--learning-rate " + defaults.learningRate() + "]";
    }

    @Override
    public int run(Options options, PrintStream out) {
        Path dir = options.path("out", null);
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
