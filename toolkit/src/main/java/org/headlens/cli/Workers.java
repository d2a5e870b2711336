package org.headlens.cli;

import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.headlens.HeadlensException;
import org.headlens.data.ObjectMask;
import org.headlens.data.Sample;
import org.headlens.interventions.Baseline;
import org.headlens.model.Lvlm;

/**
 * What the tasks of a distributed run keep per JVM: a worker loads a model once and reuses it
 * for all its tasks (a 7B model takes minutes to load and most of the memory), reads the
 * dataset once (with the driver's options, and checked against the driver's samples), and
 * computes a mean-image baseline once.
 */
final class Workers {
    private static final Map<Path, Lvlm> MODELS = new HashMap<>();
    private static final Map<Path, Lvlm> LENT = new HashMap<>();
    private static final Map<List<String>, RunInputs> INPUTS = new HashMap<>();
    private static String baselineKey;
    private static Baseline baseline;
    private static NDManager baselineScope;

    private Workers() {
    }

    /** A model lent to the tasks of this JVM. */
    interface Loan extends AutoCloseable {
        @Override
        void close();
    }

    /** @return the model of {@code folder}, loaded (as {@code --dtype}/{@code --compute} say) by the first task of this JVM that needs it */
    static synchronized Lvlm model(Path folder, Lvlm.LoadOptions load) {
        Path key = folder.toAbsolutePath().normalize();
        Lvlm lent = LENT.get(key);
        if (lent != null) {
            return lent;
        }
        return MODELS.computeIfAbsent(key, k -> Lvlm.load(k, load));
    }

    /**
     * Lets tasks in this JVM (a {@code local[n]} run) use the model the command already loaded,
     * instead of a second copy.
     *
     * @param model the model
     * @return closing it ends the loan
     */
    static synchronized Loan lend(Lvlm model) {
        Path key = model.folder().toAbsolutePath().normalize();
        LENT.put(key, model);
        return () -> {
            synchronized (Workers.class) {
                LENT.remove(key);
                if (baselineKey != null && baselineKey.startsWith(key + "\n")) {
                    dropBaseline();
                }
            }
        };
    }

    /**
     * The inputs the arguments name, read once per JVM, with the dataset read as the driver read
     * it (same path, layout options and {@code --skip-bad}); a worker that sees other files reads
     * other samples, and its tasks would silently measure something else, so that is refused.
     *
     * @param arguments the worker's arguments ({@link #arguments})
     * @param options them parsed
     * @param expected {@link #describe} of the driver's samples
     * @return the inputs
     */
    static synchronized RunInputs inputs(String[] arguments, Options options, List<String> expected) {
        List<String> key = List.of(arguments);
        RunInputs cached = INPUTS.get(key);
        if (cached != null) {
            return cached;
        }
        RunInputs read = RunInputs.read(options);
        List<String> here = describe(read.samples());
        if (!here.equals(expected)) {
            int i = 0;
            while (i < here.size() && i < expected.size() && here.get(i).equals(expected.get(i))) {
                i++;
            }
            throw new HeadlensException(read.data() + ": reads as " + here.size() + " samples on this worker but as " + expected.size()
                    + " on the driver; sample " + (i + 1) + " is " + (i < here.size() ? "'" + here.get(i) + "'" : "missing") + " here but "
                    + (i < expected.size() ? "'" + expected.get(i) + "'" : "absent") + " there; every machine must see the same data,"
                    + " images and masks under the same paths");
        }
        INPUTS.put(key, read);
        return read;
    }

    /**
     * What identifies the samples a run reads, for comparing a worker's reading with the driver's.
     *
     * @param samples the samples, in order
     * @return per sample: id, absolute image path, answer, labels and where its mask comes from
     */
    static List<String> describe(List<Sample> samples) {
        return samples.stream().map(sample -> {
            ObjectMask mask = sample.mask();
            String from = mask == null ? "none" : mask instanceof ObjectMask.MaskFile file ? file.file().toAbsolutePath().normalize().toString()
                    : mask.getClass().getSimpleName();
            return sample.id() + " " + sample.image().toAbsolutePath().normalize() + " answer=" + sample.answer() + " labels=" + sample.labels()
                    + " mask=" + from;
        }).toList();
    }

    /** @return the sample with this id */
    static Sample sample(RunInputs inputs, String id) {
        return inputs.samples().stream().filter(e -> e.id().equals(id)).findFirst()
                .orElseThrow(() -> new HeadlensException(inputs.data() + ": has no sample " + id + " among the first " + inputs.samples().size()
                        + " here, though the driver listed it; every worker must see the same dataset folder"));
    }

    /**
     * @param model the run's model
     * @param label the baseline's name
     * @param samples the run's samples
     * @param compute makes the baseline in the scope it is given
     * @return the run's baseline, computed once per JVM
     */
    static synchronized Baseline baseline(Lvlm model, String label, List<Sample> samples, Function<NDManager, Baseline> compute) {
        String key = model.folder().toAbsolutePath().normalize() + "\n" + label + "\n" + String.join("\n", describe(samples));
        if (!key.equals(baselineKey)) {
            dropBaseline();
            NDManager scope = model.newScope();
            baseline = compute.apply(scope);
            baselineScope = scope;
            baselineKey = key;
        }
        return baseline;
    }

    private static void dropBaseline() {
        if (baselineScope != null) {
            baselineScope.close();
        }
        baselineScope = null;
        baseline = null;
        baselineKey = null;
    }

    /**
     * The command's arguments as a worker parses them: paths absolute (a worker's working folder
     * is not the driver's), the defaults the driver resolved (embedded model and data) written
     * out, the sample count fixed, and without {@code --spark}. Every option that says how
     * {@code --data} is read passes unchanged, so the worker reads the same samples.
     *
     * @param options the command's options
     * @param inputs what they name
     * @param replaced further values that replace given ones (null: leave the option out)
     * @return the arguments
     */
    static String[] arguments(Options options, RunInputs inputs, Map<String, String> replaced) {
        Map<String, String> all = new HashMap<>();
        all.put("model", inputs.model().toAbsolutePath().normalize().toString());
        if (!options.given("data")) {
            all.put("data", inputs.data().toAbsolutePath().normalize().toString());
        }
        all.put("out", inputs.out().toAbsolutePath().normalize().toString());
        all.put("samples", Integer.toString(inputs.samples().size()));
        all.put("spark", null);
        all.putAll(replaced);
        return options.arguments(all);
    }

    /**
     * Runs {@code work} with the model the worker holds for the inputs, one task at a time per
     * model: PyTorch already spreads one sample over every core, and a model's scopes are not
     * shared between threads.
     */
    static void withModel(RunInputs inputs, Lvlm.LoadOptions load, java.util.function.Consumer<Lvlm> work) {
        Lvlm model = model(inputs.model(), load);
        synchronized (model) {
            work.accept(model);
        }
    }
}
