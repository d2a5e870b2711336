package org.headlens.notebook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Executes every notebook in real Jupyter ({@code jupyter nbconvert --execute}) on each Java
 * kernel the README names (rapaio 3.0.1, IJava 1.3.0, JJava; {@link NotebookKernels}, installed in
 * a scratch JUPYTER_PATH), fails on any error output, on a kernel that does not start (no
 * retries: a user meets that as a broken notebook) and on a {@code show(...)} whose table, chart
 * or image is missing, and checks in headless Chromium that an exported notebook of each kernel
 * really draws its chart. {@code mvn verify} installs Jupyter and Chromium first where it can
 * (src/test/sh/notebook-tools.sh).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NotebooksIT {
    static final Path EXECUTED = Path.of("target", "executed-notebooks");
    /** A show(...) call and its argument, as the notebooks write them. */
    private static final Pattern SHOW = Pattern.compile("\\bshow\\(");

    @BeforeAll
    static void jupyterAndKernelsArePresent() throws Exception {
        Result nbconvert = exec(Path.of("."), 120, "jupyter", "nbconvert", "--version");
        if (nbconvert.status() != 0) {
            fail("these tests need Jupyter (Debian: jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel) and chromium;"
                    + " mvn verify installs them where it can\n" + nbconvert.output());
        }
        NotebookKernels.install();
        Result kernels = exec(Path.of("."), 60, "jupyter", "kernelspec", "list");
        for (String kernel : NotebookKernels.NAMES) {
            assertTrue(kernels.output().lines().anyMatch(line -> line.trim().startsWith(kernel + " ")
                    && line.contains(NotebookKernels.JUPYTER_PATH.toString())), kernel + " is installed in the scratch path\n" + kernels.output());
        }
        Files.createDirectories(EXECUTED);
    }

    /**
     * The kernel {@code install-kernel} installs starts every time: twelve starts in a row, each
     * to the reply of a first cell. rapaio 3.0.1 by its own {@code -jar} loses about one start in
     * three here, so without {@code RapaioLauncher} this fails nearly always.
     */
    @Order(0)
    @Test
    void theInstalledRapaioKernelStartsEveryTime() throws Exception {
        Result starts = exec(Path.of("."), 900, "/usr/bin/python3", Path.of("src/test/sh/kernel-starts.py").toString(), "rapaio", "12", "30");
        System.out.println(starts.output().strip());
        assertEquals(0, starts.status(), "every start answers:\n" + tail(starts.output()));
    }

    static Stream<Arguments> runs() throws IOException {
        // -Dheadlens.notebooks=01-,05- runs only the notebooks whose names start so (while working on them)
        List<String> only = List.of(System.getProperty("headlens.notebooks", "").split("\\s*,\\s*"));
        List<Path> notebooks = NotebooksTest.notebooks()
                .filter(n -> only.stream().anyMatch(prefix -> n.getFileName().toString().startsWith(prefix))).toList();
        return NotebookKernels.selected().stream().flatMap(kernel -> notebooks.stream().map(notebook -> Arguments.of(kernel, notebook)));
    }

    @Order(1)
    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("runs")
    void executesWithItsTablesChartsAndImagesAndNoErrorOutput(String kernel, Path notebook) throws Exception {
        Path executed = execute(kernel, notebook);
        JsonObject json = JsonParser.parseString(Files.readString(executed)).getAsJsonObject();
        Map<String, Integer> total = new TreeMap<>();
        int shows = 0;
        for (JsonElement element : json.getAsJsonArray("cells")) {
            JsonObject cell = element.getAsJsonObject();
            if (!cell.get("cell_type").getAsString().equals("code")) {
                continue;
            }
            String where = kernel + ", " + notebook.getFileName() + ", cell " + text(cell.get("source")).lines().findFirst().orElse("");
            Map<String, Integer> expected = new TreeMap<>();
            for (String argument : shownArguments(text(cell.get("source")))) {
                expected.merge(kind(argument), 1, Integer::sum);
                shows++;
            }
            Map<String, Integer> shown = new TreeMap<>();
            for (JsonElement o : cell.getAsJsonArray("outputs")) {
                JsonObject output = o.getAsJsonObject();
                String type = output.get("output_type").getAsString();
                if (type.equals("error")) {
                    fail(where + ": error output " + output.get("ename") + ": " + output.get("evalue"));
                }
                if (type.equals("stream") && output.get("name").getAsString().equals("stderr")
                        && text(output.get("text")).matches("(?s).*(Exception|Error:).*")) {
                    fail(where + ": exception on stderr: " + text(output.get("text")));
                }
                JsonObject data = output.has("data") ? output.getAsJsonObject("data") : new JsonObject();
                if (type.equals("execute_result") && text(data.get("text/plain")).contains("java.io.PrintStream@")) {
                    fail(where + ": a stray PrintStream result");
                }
                if (type.equals("display_data")) {
                    if (data.has("application/vnd.plotly.v1+json")) {
                        assertTrue(text(data.get("text/html")).contains("Plotly.newPlot"), where + ": chart HTML draws with Plotly");
                        shown.merge("chart", 1, Integer::sum);
                    } else if (data.has("image/png")) {
                        shown.merge("image", 1, Integer::sum);
                    } else if (text(data.get("text/html")).contains("<table")) {
                        shown.merge("table", 1, Integer::sum);
                    }
                }
            }
            // a show(...) in a loop shows more than once
            for (Map.Entry<String, Integer> kind : expected.entrySet()) {
                assertTrue(shown.getOrDefault(kind.getKey(), 0) >= kind.getValue(), where + ": shows " + shown + ", its show(...) calls "
                        + expected + " (a table, chart or image fell back to text)");
            }
            shown.forEach((kind, count) -> total.merge(kind, count, Integer::sum));
        }
        System.out.printf("notebook %s on %s: %d show(...) calls always run; shown %s%n", notebook.getFileName(), kernel, shows, total);
        assertTrue(total.getOrDefault("table", 0) > 0 && total.getOrDefault("chart", 0) > 0,
                kernel + ", " + notebook.getFileName() + ": every notebook shows a table and a chart; shown " + total);
    }

    /**
     * @return the argument of each show(...) call that a cell always runs: those outside braces (a
     *     call in a branch may not run, e.g. notebook 06's reference table without fixtures)
     */
    static List<String> shownArguments(String source) {
        List<String> arguments = new ArrayList<>();
        Matcher call = SHOW.matcher(source);
        while (call.find()) {
            String before = source.substring(0, call.start());
            if (before.chars().filter(c -> c == '{').count() != before.chars().filter(c -> c == '}').count()) {
                continue;
            }
            int depth = 1;
            int end = call.end();
            while (end < source.length() && depth > 0) {
                char c = source.charAt(end++);
                depth += c == '(' ? 1 : c == ')' ? -1 : 0;
            }
            arguments.add(source.substring(call.end(), Math.max(call.end(), end - 1)).strip());
        }
        return arguments;
    }

    /** @return what Display shows for a show(...) argument: image, chart or table */
    static String kind(String argument) {
        if (argument.startsWith("Images.") || argument.startsWith("Charts.patchMap")) {
            return "image";
        }
        return argument.startsWith("Charts.") ? "chart" : "table";
    }

    /** nbconvert's result for each kernel and notebook, started together by {@link #executeAll()} at the first run asked for. */
    private static final Map<String, Future<Result>> RUNS = new ConcurrentHashMap<>();

    /**
     * Executes every notebook on every kernel, one at a time unless {@code -Dheadlens.notebook.workers=N}.
     * Not two at a time: each kernel's PyTorch spins its OpenMP threads on every core while it waits,
     * so two kernels on two cores stall each other on every small operation (notebook 02 took 268 s
     * beside another kernel, 15 s alone).
     */
    static synchronized void executeAll() throws Exception {
        if (!RUNS.isEmpty()) {
            return;
        }
        int workers = Integer.getInteger("headlens.notebook.workers", 1);
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        try {
            for (Arguments run : runs().toList()) {
                String kernel = (String) run.get()[0];
                Path notebook = (Path) run.get()[1];
                RUNS.put(kernel + "/" + notebook.getFileName(), pool.submit(() -> nbconvert(kernel, notebook)));
            }
        } finally {
            pool.shutdown();
        }
    }

    private static Result nbconvert(String kernel, Path notebook) throws Exception {
        long start = System.nanoTime();
        Result run = exec(Path.of("."), 1500, "jupyter", "nbconvert", "--to", "notebook", "--execute",
                "--ExecutePreprocessor.kernel_name=" + kernel, "--ExecutePreprocessor.timeout=900",
                "--ExecutePreprocessor.startup_timeout=60", "--output-dir", EXECUTED.resolve(kernel).toString(), notebook.toString());
        System.out.printf("notebook %s on %s executed in %.1f s%n", notebook.getFileName(), kernel, (System.nanoTime() - start) / 1e9);
        return run;
    }

    /** @return the executed copy of a notebook, run on a kernel (no second start if the kernel does not answer) */
    static Path execute(String kernel, Path notebook) throws Exception {
        executeAll();
        Future<Result> pending = RUNS.get(kernel + "/" + notebook.getFileName());
        Result run = pending != null ? pending.get(2, TimeUnit.HOURS) : nbconvert(kernel, notebook);
        if (run.status() != 0 && (run.output().contains("Kernel didn't respond") || run.output().contains("Kernel died before replying"))) {
            fail(kernel + " did not start for " + notebook.getFileName() + "\n" + tail(run.output()));
        }
        assertEquals(0, run.status(), kernel + ", " + notebook + ": nbconvert failed\n" + tail(run.output()));
        return EXECUTED.resolve(kernel).resolve(notebook.getFileName());
    }

    /**
     * Exports an executed notebook of each kernel to HTML, keeps only its chart outputs, and takes
     * a screenshot in headless Chromium: the chart area must be full of drawn, coloured pixels.
     * The same page without plotly.js must not be, so the check can fail.
     */
    @Order(2)
    @ParameterizedTest(name = "{0}")
    @MethodSource("kernels")
    void anExportedNotebookDrawsItsChartsInABrowser(String kernel) throws Exception {
        Path notebook = NotebooksTest.NOTEBOOKS.resolve("02-head-attribution.ipynb");
        Path executed = EXECUTED.resolve(kernel).resolve(notebook.getFileName());
        if (!Files.exists(executed)) {
            executed = execute(kernel, notebook);
        }
        Path folder = executed.getParent();
        Result export = exec(Path.of("."), 300, "jupyter", "nbconvert", "--to", "html", "--output-dir", folder.toString(), executed.toString());
        assertEquals(0, export.status(), tail(export.output()));
        String html = Files.readString(folder.resolve("02-head-attribution.html"));
        assertTrue(html.contains("headlens-chart"), "the export holds the chart output");
        // only cells with a chart, and only their outputs, so that the screenshot is the chart
        String chartsOnly = html.replace("</head>", "<style>.jp-Cell{display:none !important}"
                + ".jp-Cell:has(.headlens-chart){display:block !important}.jp-InputArea,.jp-InputPrompt,.jp-OutputPrompt"
                + "{display:none !important}</style></head>");
        int drawn = colouredPixels(folder, chartsOnly, "charts");
        int withoutPlotly = colouredPixels(folder, chartsOnly.replaceAll("(?s)<script>\\s*/\\*\\*?\\s*\\* plotly\\.js.*?</script>", "<script></script>"),
                "no-plotly");
        System.out.printf("%s: coloured pixels: %d with plotly.js, %d without%n", kernel, drawn, withoutPlotly);
        assertTrue(drawn > 20_000, kernel + ": the heatmap is drawn: " + drawn + " coloured pixels");
        assertTrue(withoutPlotly < 2_000, "without plotly.js nothing is drawn, so the check can fail: " + withoutPlotly);
    }

    static Stream<String> kernels() {
        return NotebookKernels.selected().stream();
    }

    /** Pixels of strong colour (channel spread over 60) in a 1000 x 1400 screenshot of the page. */
    private static int colouredPixels(Path folder, String html, String name) throws Exception {
        Path page = folder.resolve("screenshot-" + name + ".html");
        Files.writeString(page, html);
        Path png = folder.resolve("screenshot-" + name + ".png").toAbsolutePath();
        Files.deleteIfExists(png);
        Chart.Browser.screenshot(page.toAbsolutePath(), png, 1000, 1400);
        BufferedImage image = ImageIO.read(png.toFile());
        int count = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y);
                int r = (rgb >> 16) & 0xff;
                int g = (rgb >> 8) & 0xff;
                int b = rgb & 0xff;
                count += Math.max(r, Math.max(g, b)) - Math.min(r, Math.min(g, b)) > 60 ? 1 : 0;
            }
        }
        return count;
    }

    private static String text(JsonElement element) {
        if (element == null) {
            return "";
        }
        if (element.isJsonArray()) {
            StringBuilder out = new StringBuilder();
            element.getAsJsonArray().forEach(e -> out.append(e.getAsString()));
            return out.toString();
        }
        return element.getAsString();
    }

    private static String tail(String output) {
        List<String> lines = output.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    record Result(int status, String output) {
    }

    static Result exec(Path directory, int timeoutSeconds, String... command) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(new ArrayList<>(List.of(command))).directory(directory.toFile()).redirectErrorStream(true);
        // the kernels the tests install, ahead of any the user has
        builder.environment().put("JUPYTER_PATH", NotebookKernels.JUPYTER_PATH.toString());
        Process process = builder.start();
        byte[][] output = new byte[1][];
        Thread reader = new Thread(() -> {
            try {
                output[0] = process.getInputStream().readAllBytes();
            } catch (IOException e) {
                output[0] = e.toString().getBytes(StandardCharsets.UTF_8);
            }
        });
        reader.start();
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            reader.join(5000);
            return new Result(-1, "timed out after " + timeoutSeconds + " s: " + String.join(" ", command));
        }
        reader.join();
        return new Result(process.exitValue(), new String(output[0], StandardCharsets.UTF_8));
    }
}
