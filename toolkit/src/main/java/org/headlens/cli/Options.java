package org.headlens.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.headlens.HeadlensException;

/**
 * The options of one command line, parsed against the options the command declares: an unknown,
 * repeated or valueless option and a value out of range are refused, in one line naming the
 * option, before the command does anything.
 */
final class Options {
    /** What an option's value is. */
    enum Kind {
        /** no value: present or not */
        FLAG,
        /** any non-empty text (optionally matching a pattern) */
        TEXT,
        /** a file or folder (non-empty) */
        PATH,
        /** a whole number within a range */
        INTEGER,
        /** a finite number within a range */
        NUMBER,
        /** one of a few words */
        CHOICE
    }

    /**
     * One option a command takes.
     *
     * @param name without the dashes, e.g. {@code samples}
     * @param kind what its value is
     * @param valueName placeholder in the usage text, e.g. {@code N}
     * @param help what it does, for {@code --help}
     * @param defaultValue the value when absent, as text (null: none, or described by {@code help})
     * @param required whether it must be given
     * @param min smallest value (numbers)
     * @param minOpen whether {@code min} itself is excluded
     * @param max largest value (numbers)
     * @param maxOpen whether {@code max} itself is excluded
     * @param choices the allowed words (choices), or the pattern and its description (text)
     */
    record Option(String name, Kind kind, String valueName, String help, String defaultValue, boolean required, double min,
            boolean minOpen, double max, boolean maxOpen, List<String> choices) {
        static Option flag(String name, String help) {
            return new Option(name, Kind.FLAG, "", help, null, false, 0, false, 0, false, List.of());
        }

        static Option text(String name, String valueName, String help) {
            return new Option(name, Kind.TEXT, valueName, help, null, false, 0, false, 0, false, List.of());
        }

        static Option path(String name, String valueName, String help) {
            return new Option(name, Kind.PATH, valueName, help, null, false, 0, false, 0, false, List.of());
        }

        static Option integer(String name, String help, long min, long max) {
            return new Option(name, Kind.INTEGER, "N", help, null, false, min, false, max, false, List.of());
        }

        static Option number(String name, String help, double min, boolean minOpen, double max, boolean maxOpen) {
            return new Option(name, Kind.NUMBER, "X", help, null, false, min, minOpen, max, maxOpen, List.of());
        }

        static Option choice(String name, String help, String... words) {
            return new Option(name, Kind.CHOICE, String.join("|", words), help, null, false, 0, false, 0, false, List.of(words));
        }

        /** @return a copy whose value is {@code value} when the option is absent */
        Option byDefault(Object value) {
            String text = String.valueOf(value);
            check(text);
            return new Option(name, kind, valueName, help, text, required, min, minOpen, max, maxOpen, choices);
        }

        /** @return a copy that must be given */
        Option mandatory() {
            return new Option(name, kind, valueName, help, defaultValue, true, min, minOpen, max, maxOpen, choices);
        }

        /** @return a copy that need not be given */
        Option optional() {
            return new Option(name, kind, valueName, help, defaultValue, false, min, minOpen, max, maxOpen, choices);
        }

        /** @return a copy of a text option whose value must match {@code regex}, described as {@code description} */
        Option matching(String regex, String description) {
            return new Option(name, kind, valueName, help, defaultValue, required, min, minOpen, max, maxOpen, List.of(regex, description));
        }

        /** @return e.g. {@code --samples N} */
        String synopsis() {
            return "--" + name + (kind == Kind.FLAG ? "" : " " + valueName);
        }

        /** @return what a value must be, e.g. {@code a whole number from 1 to 1000000} */
        String expected() {
            switch (kind) {
                case INTEGER:
                    return "a whole number from " + (long) min + " to " + (long) max;
                case NUMBER:
                    return "a number " + (minOpen ? "above " : "from ") + plain(min) + (maxOpen ? " and below " : " to ") + plain(max);
                case CHOICE:
                    return "one of " + String.join(", ", choices);
                case PATH:
                    return "a non-empty path";
                case TEXT:
                    return choices.isEmpty() ? "a non-empty text" : choices.get(1);
                default:
                    return "nothing";
            }
        }

        private static String plain(double value) {
            return value == Math.rint(value) && Math.abs(value) < 1e15 ? Long.toString((long) value) : Double.toString(value);
        }

        /** Refuses a value that is not {@link #expected()}. */
        void check(String value) {
            String refusal = "--" + name + " must be " + expected() + ", not '" + shorten(value) + "'";
            switch (kind) {
                case INTEGER: {
                    long parsed;
                    try {
                        parsed = Long.parseLong(value.strip());
                    } catch (NumberFormatException e) {
                        throw new HeadlensException(refusal);
                    }
                    if (parsed < min || parsed > max) {
                        throw new HeadlensException(refusal);
                    }
                    return;
                }
                case NUMBER: {
                    double parsed;
                    // Double.parseDouble also takes hexadecimal, "NaN" and a trailing 'd'; a number here is decimal
                    if (!value.strip().matches("[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?")) {
                        throw new HeadlensException(refusal);
                    }
                    parsed = Double.parseDouble(value.strip());
                    if (!Double.isFinite(parsed) || (minOpen ? parsed <= min : parsed < min) || (maxOpen ? parsed >= max : parsed > max)) {
                        throw new HeadlensException(refusal);
                    }
                    return;
                }
                case CHOICE:
                    if (!choices.contains(value)) {
                        throw new HeadlensException(refusal);
                    }
                    return;
                case TEXT:
                case PATH:
                    if (value.isEmpty() || value.contains("\0") || kind == Kind.TEXT && !choices.isEmpty() && !value.matches(choices.get(0))) {
                        throw new HeadlensException(refusal);
                    }
                    return;
                default:
                    return;
            }
        }

        /** @return one line of {@code --help}: synopsis, help, range and default */
        String describe() {
            String shown = kind == Kind.CHOICE ? "--" + name + " NAME" : synopsis();
            StringBuilder line = new StringBuilder(String.format("  %-28s %s", shown, help));
            List<String> notes = new ArrayList<>();
            if (kind == Kind.INTEGER || kind == Kind.NUMBER || kind == Kind.CHOICE) {
                notes.add(expected());
            }
            if (required) {
                notes.add("required");
            }
            if (defaultValue != null) {
                notes.add("default " + defaultValue);
            }
            if (!notes.isEmpty()) {
                line.append(" (").append(String.join("; ", notes)).append(')');
            }
            return line.toString();
        }
    }

    /** Options every analysis command reading a model and a dataset takes. */
    static final Option MODEL = Option.path("model", "DIR", "model folder (Hugging Face layout); default the embedded tiny model");
    static final Option DTYPE = Option.choice("dtype", "type the weights are held in: float32 (default; 4 bytes a parameter), float16"
            + " (2 bytes: a 7B model in 14 GB) or float64; a float16 or bfloat16 checkpoint is converted tensor by tensor",
            "float32", "float16", "float64");
    static final Option COMPUTE = Option.choice("compute", "type of the arithmetic (default the --dtype): --dtype float16 --compute"
            + " float32 widens each float16 weight exactly to float32 for its step only, about 10x faster than float16 arithmetic"
            + " on CPUs at float16's memory", "float32", "float16", "float64");
    static final Option DEVICE = Option.text("device", "NAME", "where the weights live and the arithmetic runs: cpu (default), gpu or gpu:N"
            + " (needs a CUDA build of PyTorch; see GPUs in the README)");
    static final Option DATA = Option.path("data", "PATH", "a COCO instances .json, a CSV manifest (image,answer[,mask],labels...), a folder of"
            + " class folders (DIR/<answer>/<image>) or a tiny-shapes folder with labels.csv; default the embedded evaluation split");
    static final Option IMAGES = Option.path("images", "DIR", "COCO: the folder of the pictures; default the folder of the .json file");
    static final Option SKIP_BAD = Option.flag("skip-bad", "skip and count samples whose image is missing, unreadable or too large,"
            + " instead of refusing the run");
    static final Option MIN_OBJECT_SHARE = Option.number("min-object-share", "COCO: least share of the image the main object (largest"
            + " non-crowd instance) covers", 0, false, 1, false).byDefault(org.headlens.data.Datasets.DEFAULT_MIN_OBJECT_SHARE);
    static final Option MIN_OBJECT_RATIO = Option.number("min-object-ratio", "COCO: least ratio of the main object's area to the next"
            + " largest non-crowd instance's", 1, false, 1e9, false).byDefault(org.headlens.data.Datasets.DEFAULT_MIN_OBJECT_RATIO);
    static final Option FIRST_TOKEN = Option.flag("first-token", "measure answers of several tokens on their first token: the metric is"
            + " that token's, and another word starting with it also counts as right (default: such answers are refused)");
    /** The options that say how {@code --data} is read. */
    static final List<Option> DATA_OPTIONS = List.of(DATA, IMAGES, SKIP_BAD, MIN_OBJECT_SHARE, MIN_OBJECT_RATIO);
    static final Option OUT = Option.path("out", "DIR", "result folder: new, empty, or one this same run claimed").mandatory();
    static final Option SAMPLES = Option.integer("samples", "analyse the first N samples of the dataset; default all", 1, 1_000_000);
    static final Option PROMPT = Option.text("prompt", "TEXT", "the question, with the image placeholder; default the object question");
    static final Option SPARK = Option.text("spark", "MASTER", "run every sample as an Apache Spark task, e.g. local[2] or spark://host:7077"
            + " (needs the headlens-spark module)");

    private final String command;
    private final Map<String, Option> declared = new LinkedHashMap<>();
    private final Map<String, String> values = new LinkedHashMap<>();

    private Options(String command, List<Option> options) {
        this.command = command;
        options.forEach(o -> declared.put(o.name(), o));
    }

    /**
     * @param command the command's name, for messages
     * @param options what it declares
     * @param args what the user gave after the command name
     * @param owners for each option name, the commands that declare it (to name the right one)
     * @return the checked options
     */
    static Options parse(String command, List<Option> options, String[] args, Map<String, List<String>> owners) {
        Options parsed = new Options(command, options);
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--") || arg.length() == 2 || arg.startsWith("---") || arg.startsWith("--=")) {
                throw new HeadlensException("unexpected argument '" + shorten(arg) + "' (options look like --name value; see headlens "
                        + command + " --help)");
            }
            String name = arg.substring(2);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            Option option = parsed.declared.get(name);
            if (option == null) {
                throw new HeadlensException(parsed.unknown(name, owners));
            }
            if (parsed.values.containsKey(name)) {
                throw new HeadlensException("--" + name + " is given twice; give it once");
            }
            if (option.kind() == Kind.FLAG) {
                if (value != null) {
                    throw new HeadlensException("--" + name + " takes no value, but was given '" + shorten(value) + "'");
                }
                value = "";
            } else if (value == null) {
                if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
                    throw new HeadlensException("--" + name + " needs a value: " + option.expected()
                            + (option.kind() == Kind.TEXT ? " (write --" + name + "=VALUE for one that starts with --)" : ""));
                }
                value = args[++i];
            }
            option.check(value);
            parsed.values.put(name, value);
        }
        for (Option option : options) {
            if (option.required() && !parsed.values.containsKey(option.name())) {
                throw new HeadlensException(option.synopsis() + " is required (see headlens " + command + " --help)");
            }
        }
        return parsed;
    }

    private String unknown(String name, Map<String, List<String>> owners) {
        List<String> elsewhere = owners.getOrDefault(name, List.of());
        if (!elsewhere.isEmpty()) {
            String commands = elsewhere.size() == 1 ? elsewhere.get(0)
                    : String.join(", ", elsewhere.subList(0, elsewhere.size() - 1)) + " and " + elsewhere.get(elsewhere.size() - 1);
            return "--" + shorten(name) + " is an option of " + commands + ", not of " + command
                    + "; " + command + " takes " + names();
        }
        String closest = null;
        int best = 3;
        for (String known : declared.keySet()) {
            int distance = distance(name.toLowerCase(Locale.ROOT), known);
            if (distance < best) {
                best = distance;
                closest = known;
            }
        }
        return "unknown option --" + shorten(name) + (closest == null ? "" : " (did you mean --" + closest + "?)") + "; " + command
                + " takes " + names();
    }

    private String names() {
        return declared.isEmpty() ? "no options" : declared.keySet().stream().map(n -> "--" + n).collect(Collectors.joining(", "));
    }

    private static int distance(String a, String b) {
        if (Math.abs(a.length() - b.length()) > 3 || a.length() > 100) {
            return Integer.MAX_VALUE;
        }
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                current[j] = Math.min(Math.min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }

    private static String shorten(String text) {
        String line = text.replaceAll("\\p{Cntrl}", "?");
        return line.length() <= 60 ? line : line.substring(0, 60) + "...";
    }

    private Option declared(String name, Set<Kind> kinds) {
        Option option = declared.get(name);
        if (option == null || !kinds.contains(option.kind())) {
            throw new IllegalStateException(command + " reads --" + name + " without declaring it as " + kinds);
        }
        return option;
    }

    private String raw(String name, Set<Kind> kinds) {
        Option option = declared(name, kinds);
        return values.getOrDefault(name, option.defaultValue());
    }

    /**
     * @param options parsed options of a command that declares {@link #DTYPE} and {@link #COMPUTE}
     * @return how to load the model they describe
     */
    static org.headlens.model.Lvlm.LoadOptions loadOptions(Options options) {
        ai.djl.ndarray.types.DataType storage = dataType(options.string("dtype", "float32"));
        ai.djl.ndarray.types.DataType compute = options.given("compute") ? dataType(options.string("compute", "float32")) : storage;
        return new org.headlens.model.Lvlm.LoadOptions(compute, device(options.declares("device") ? options.string("device", "cpu") : "cpu"), storage);
    }

    /** The device a {@code --device} value names, refused in one line when PyTorch here cannot use it. */
    static ai.djl.Device device(String name) {
        if (name.equals("cpu")) {
            return ai.djl.Device.cpu();
        }
        java.util.regex.Matcher gpu = java.util.regex.Pattern.compile("gpu(?::(\\d{1,3}))?").matcher(name);
        if (!gpu.matches()) {
            throw new HeadlensException("--device: '" + name + "' is not a device; use cpu, gpu or gpu:N");
        }
        int index = gpu.group(1) == null ? 0 : Integer.parseInt(gpu.group(1));
        int visible = ai.djl.engine.Engine.getEngine("PyTorch").getGpuCount();
        if (index >= visible) {
            throw new HeadlensException("--device " + name + ": PyTorch here sees " + visible + " GPU(s)"
                    + (visible == 0 ? " (the PyTorch build is CPU-only, or no CUDA device is visible); see GPUs in the README" : ""));
        }
        return ai.djl.Device.gpu(index);
    }

    private static ai.djl.ndarray.types.DataType dataType(String name) {
        switch (name) {
            case "float16":
                return ai.djl.ndarray.types.DataType.FLOAT16;
            case "float64":
                return ai.djl.ndarray.types.DataType.FLOAT64;
            default:
                return ai.djl.ndarray.types.DataType.FLOAT32;
        }
    }

    /** @return whether the command takes the option {@code name} */
    boolean declares(String name) {
        return declared.containsKey(name);
    }

    /** @return whether the option was given */
    boolean given(String name) {
        declared(name, Set.of(Kind.values()));
        return values.containsKey(name);
    }

    boolean flag(String name) {
        return raw(name, Set.of(Kind.FLAG)) != null;
    }

    /** @return the value, the declared default, else {@code fallback} */
    String string(String name, String fallback) {
        String value = raw(name, Set.of(Kind.TEXT, Kind.CHOICE));
        return value == null ? fallback : value;
    }

    /** @return the path given, the declared default, else {@code fallback} (required options have a value) */
    Path path(String name, String fallback) {
        String value = raw(name, Set.of(Kind.PATH));
        return Path.of(value == null ? fallback : value);
    }

    double number(String name, double fallback) {
        String value = raw(name, Set.of(Kind.NUMBER));
        return value == null ? fallback : Double.parseDouble(value.strip());
    }

    int integer(String name, int fallback) {
        String value = raw(name, Set.of(Kind.INTEGER));
        return value == null ? fallback : Math.toIntExact(Long.parseLong(value.strip()));
    }

    /** @return the usage line of a command's options, e.g. {@code --out DIR [--samples N]} */
    static String synopsis(List<Option> options) {
        return options.stream().map(o -> o.required() ? o.synopsis() : "[" + o.synopsis() + "]").collect(Collectors.joining(" "));
    }

    /**
     * The options as arguments again (each as {@code --name=value}, paths made absolute), for
     * another process, in another working folder, to parse the same way.
     *
     * @param replaced values that replace the given ones (null: leave the option out)
     * @return the arguments
     */
    String[] arguments(Map<String, String> replaced) {
        Map<String, String> all = new LinkedHashMap<>(values);
        all.putAll(replaced);
        List<String> arguments = new ArrayList<>();
        all.forEach((name, value) -> {
            if (value != null) {
                Kind kind = declared.get(name).kind();
                String text = kind == Kind.PATH ? Path.of(value).toAbsolutePath().normalize().toString() : value;
                arguments.add(kind == Kind.FLAG ? "--" + name : "--" + name + "=" + text);
            }
        });
        return arguments.toArray(String[]::new);
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder(command);
        values.forEach((name, value) -> text.append(" --").append(name).append(value.isEmpty() && declared.get(name).kind() == Kind.FLAG ? ""
                : " " + value));
        return text.toString();
    }
}
