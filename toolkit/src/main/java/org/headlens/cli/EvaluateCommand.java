package org.headlens.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.headlens.data.Sample;
import org.headlens.data.ShapesDataset;
import org.headlens.data.TinyModel;
import org.headlens.evaluation.Accuracy;
import org.headlens.model.Lvlm;
import tech.tablesaw.api.Table;

/** {@code evaluate}: accuracy of the model's one-word answer, by class and style, and with blank images. */
final class EvaluateCommand implements Main.Command {
    @Override
    public String summary() {
        return "answer accuracy by class and style, and with blank images";
    }

    @Override
    public List<Options.Option> options() {
        return List.of(Options.MODEL, Options.DATA, Options.PROMPT);
    }

    @Override
    public int run(Options options, PrintStream out) {
        Path modelDir = options.path("model", Main.embedded("model").toString());
        Path dataDir = options.path("data", Main.embedded("eval").toString());
        List<Sample> entries = ShapesDataset.read(dataDir);
        Accuracy accuracy;
        try (Lvlm model = Lvlm.load(modelDir)) {
            accuracy = Accuracy.measure(model, entries, options.string("prompt", TinyModel.OBJECT_PROMPT));
        }
        print(out, accuracy.byClass());
        print(out, accuracy.byStyle());
        Table confusions = accuracy.confusions();
        StringBuilder wrong = new StringBuilder();
        for (int i = 0; i < Math.min(8, confusions.rowCount()); i++) {
            wrong.append(i == 0 ? "" : ", ").append(confusions.stringColumn("class").get(i)).append(" -> ")
                    .append(confusions.stringColumn("answer").get(i)).append(' ').append(confusions.intColumn("samples").get(i));
        }
        out.println("most frequent wrong answers: " + (wrong.length() == 0 ? "none" : wrong));
        out.printf("evaluate: accuracy=%.4f blank_accuracy=%.4f samples=%d%n", accuracy.accuracy(), accuracy.blankAccuracy(), entries.size());
        return 0;
    }

    private static void print(PrintStream out, Table table) {
        String group = table.column(0).name();
        out.printf("%-10s  %8s  %7s%n", group, "accuracy", "samples");
        for (int i = 0; i < table.rowCount(); i++) {
            out.printf("%-10s  %8.4f  %7d%n", table.stringColumn(group).get(i), table.doubleColumn("accuracy").get(i), table.intColumn("samples").get(i));
        }
    }
}
