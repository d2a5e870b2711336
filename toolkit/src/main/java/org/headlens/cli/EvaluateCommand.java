package org.headlens.cli;

import com.google.gson.JsonObject;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.headlens.evaluation.Accuracy;
import org.headlens.model.Lvlm;
import org.headlens.results.ResultFolder;
import tech.tablesaw.api.Table;

/** {@code evaluate}: accuracy of the model's one-word answer, by class and label, and with blank images. */
final class EvaluateCommand implements Main.Command {
    @Override
    public String summary() {
        return "answer accuracy by class and label, and with blank images";
    }

    @Override
    public List<Options.Option> options() {
        List<Options.Option> list = new ArrayList<>(List.of(Options.MODEL, Options.DTYPE, Options.COMPUTE, Options.DEVICE));
        list.addAll(Options.DATA_OPTIONS);
        list.addAll(List.of(Options.SAMPLES, Options.FIRST_TOKEN, Options.PROMPT,
                Options.Option.path("out", "DIR", "also write samples.csv (per sample: image, expected, the model's answer, its logit and"
                        + " probability), by_class.csv, by_<label>.csv, confusions.csv and manifest.json here")));
        return list;
    }

    @Override
    public int run(Options options, PrintStream out) {
        RunInputs inputs = RunInputs.read(options);
        JsonObject manifest = inputs.manifest("evaluate", options);
        JsonObject identity = Manifest.identity(manifest, "evaluate");
        if (inputs.out() != null) {
            ResultFolder.check(inputs.out(), identity);
        }
        out.println(inputs.dataSummary());
        long start = System.nanoTime();
        Accuracy accuracy;
        try (Lvlm model = Lvlm.load(inputs.model(), Options.loadOptions(options))) {
            accuracy = Accuracy.measure(model, inputs.samples(), inputs.prompt(), inputs.firstToken());
        }
        List<Table> tables = new ArrayList<>(List.of(accuracy.byClass()));
        for (String label : accuracy.labelColumns()) {
            // a label that repeats the answer (the shapes' shape column) would repeat the class table
            if (!accuracy.samples().stringColumn(label).asList().equals(accuracy.samples().stringColumn("class").asList())) {
                tables.add(accuracy.byLabel(label));
            }
        }
        for (Table table : tables) {
            print(out, table);
        }
        Table confusions = accuracy.confusions();
        StringBuilder wrong = new StringBuilder();
        for (int i = 0; i < Math.min(8, confusions.rowCount()); i++) {
            wrong.append(i == 0 ? "" : ", ").append(confusions.stringColumn("class").get(i)).append(" -> ")
                    .append(confusions.stringColumn("answer").get(i)).append(' ').append(confusions.intColumn("samples").get(i));
        }
        out.println("most frequent wrong answers: " + (wrong.length() == 0 ? "none" : wrong));
        if (inputs.out() != null) {
            try (ResultFolder folder = ResultFolder.claim(inputs.out(), identity)) {
                folder.writeCsv("samples", accuracy.samples());
                for (Table table : tables) {
                    folder.writeCsv("by_" + fileName(table.column(0).name()), table);
                }
                folder.writeCsv("confusions", confusions);
                manifest.addProperty("accuracy", accuracy.accuracy());
                manifest.addProperty("blank_accuracy", accuracy.blankAccuracy());
                Manifest.finish(manifest, (System.nanoTime() - start) / 1e9);
                folder.writeJson("manifest.json", manifest);
            }
        }
        out.printf("evaluate: accuracy=%.4f blank_accuracy=%.4f samples=%d%n", accuracy.accuracy(), accuracy.blankAccuracy(),
                inputs.samples().size());
        return 0;
    }

    /** A label name as part of a file name: anything but letters, digits, '-' and '_' becomes '_'. */
    static String fileName(String label) {
        return label.replaceAll("[^\\p{L}\\p{N}_-]", "_");
    }

    private static void print(PrintStream out, Table table) {
        String group = table.column(0).name();
        out.printf("%-10s  %8s  %7s%n", group, "accuracy", "samples");
        for (int i = 0; i < table.rowCount(); i++) {
            out.printf("%-10s  %8.4f  %7d%n", table.stringColumn(group).get(i), table.doubleColumn("accuracy").get(i), table.intColumn("samples").get(i));
        }
    }
}
