package org.headlens.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.headlens.interventions.ReferenceCheck;
import org.headlens.model.Lvlm;

/** {@code verify-model}: compares the Java model with reference tensors from Hugging Face. */
final class VerifyModelCommand implements Main.Command {
    @Override
    public String summary() {
        return "compare a model with Hugging Face reference tensors";
    }

    @Override
    public List<Options.Option> options() {
        return List.of(Options.Option.path("model", "DIR", "model folder (Hugging Face layout)").mandatory(),
                Options.DTYPE, Options.COMPUTE, Options.DEVICE,
                Options.Option.path("fixtures", "DIR", "folder with fixtures.safetensors (default the model folder)"),
                Options.Option.number("tolerance", "largest absolute difference that passes", 0, false, 1e6, false).byDefault(1e-4));
    }

    @Override
    public int run(Options options, PrintStream out) {
        Path modelDir = options.path("model", null);
        Path fixtureDir = options.path("fixtures", modelDir.toString());
        double tolerance = options.number("tolerance", 1e-4);
        try (Lvlm model = Lvlm.load(modelDir, Options.loadOptions(options))) {
            out.println("model: " + model);
            List<ReferenceCheck.Row> rows = new java.util.ArrayList<>(ReferenceCheck.compare(model, fixtureDir));
            rows.addAll(ReferenceCheck.compareAblations(model, fixtureDir));
            int width = rows.stream().mapToInt(r -> r.name().length()).max().orElse(10);
            out.printf("%-" + width + "s  %-16s  %12s  %s%n", "tensor", "shape", "max_abs_diff", "");
            double worst = 0;
            boolean pass = true;
            for (ReferenceCheck.Row row : rows) {
                // a large-valued tensor may differ by 1.5x Hugging Face's own float32-vs-float64 error (fixtures.json)
                boolean ok = row.passes(tolerance);
                String allowance = row.allowed(tolerance) > tolerance ? String.format(java.util.Locale.ROOT, " (allowed %.3e)", row.allowed(tolerance)) : "";
                out.printf("%-" + width + "s  %-16s  %12.3e  %s%s%n", row.name(), row.shapeText(), row.maxAbsDiff(), ok ? "ok" : "FAIL", allowance);
                worst = Math.max(worst, row.maxAbsDiff());
                pass &= ok;
            }
            out.printf("verify-model: max_abs_diff=%.3e tensors=%d %s%n", worst, rows.size(), pass ? "OK" : "FAIL");
            return pass ? 0 : 1;
        }
    }
}
