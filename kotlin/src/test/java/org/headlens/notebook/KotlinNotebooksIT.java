package org.headlens.notebook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Executes every Kotlin notebook in real Jupyter ({@code jupyter nbconvert --execute}) on the
 * Kotlin kernel that {@code install-kernel --kernel kotlin} installs, into a scratch
 * {@code JUPYTER_PATH} under target/, with no retry: a kernel that does not start fails. Fails on
 * any error output, on anything written to stderr, on a note that JNA could not start, and on a
 * notebook without its HTML table and its Plotly chart; then checks in headless Chromium that an
 * exported notebook draws its chart. Needs Jupyter and Chromium, which {@code .ci/run} installs.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KotlinNotebooksIT {
    static final Path NOTEBOOKS = Path.of("..", "notebooks", "kotlin");
    static final Path JUPYTER = Path.of("target", "jupyter").toAbsolutePath();
    static final Path EXECUTED = Path.of("target", "executed-notebooks").toAbsolutePath();
    static final String PLOTLY_MIME = "application/vnd.plotly.v1+json";
    private static final long STARTED = System.currentTimeMillis();

    @BeforeAll
    static void installTheKotlinKernelInAScratchJupyterPath() throws Exception {
        Result jupyter = exec(60, "jupyter", "nbconvert", "--version");
        if (jupyter.status() != 0) {
            fail("these tests need Jupyter: run .ci/run, or install jupyter-nbconvert, python3-nbclient, jupyter-client and python3-ipykernel\n"
                    + jupyter.output());
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Result install = exec(120, java, "-Dheadlens.home=" + Path.of("..").toAbsolutePath().normalize(), "-cp", classPath,
                "org.headlens.cli.Main", "install-kernel", "--kernel", "kotlin", "--kernels", JUPYTER.resolve("kernels").toString());
        assertEquals(0, install.status(), install.output());
        Files.createDirectories(EXECUTED);
    }

    static Stream<Path> notebooks() throws IOException {
        try (Stream<Path> files = Files.list(NOTEBOOKS)) {
            return files.filter(p -> p.toString().endsWith(".ipynb")).sorted().toList().stream();
        }
    }

    @ParameterizedTest
    @MethodSource("notebooks")
    @Order(1)
    void executesOnTheKotlinKernelWithItsTablesAndCharts(Path notebook) throws Exception {
        long start = System.nanoTime();
        Result run = exec(900, "jupyter", "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.kernel_name=kotlin",
                "--ExecutePreprocessor.timeout=600", "--ExecutePreprocessor.startup_timeout=120", "--output-dir", EXECUTED.toString(),
                notebook.toString());
        assertEquals(0, run.status(), notebook + ": nbconvert failed\n" + tail(run.output()));
        JsonObject executed = JsonParser.parseString(Files.readString(EXECUTED.resolve(notebook.getFileName()))).getAsJsonObject();
        int tables = 0;
        int charts = 0;
        for (JsonElement element : executed.getAsJsonArray("cells")) {
            JsonObject cell = element.getAsJsonObject();
            if (!cell.get("cell_type").getAsString().equals("code")) {
                continue;
            }
            for (JsonElement o : cell.getAsJsonArray("outputs")) {
                JsonObject output = o.getAsJsonObject();
                String type = output.get("output_type").getAsString();
                if (type.equals("error")) {
                    fail(notebook + ": error output " + output.get("ename") + ": " + output.get("evalue"));
                }
                if (type.equals("stream")) {
                    String text = text(output.get("text"));
                    // the Kotlin kernel reports a cell that does not compile on stderr, not as an error output
                    assertFalse(output.get("name").getAsString().equals("stderr"), notebook + ": stderr: " + text);
                    assertFalse(text.contains("JNA cannot start"), notebook + ": " + text);
                }
                if (type.equals("display_data") || type.equals("execute_result")) {
                    JsonObject data = output.getAsJsonObject("data");
                    String html = text(data.get("text/html"));
                    tables += html.contains("<table class=\"headlens-table\">") ? 1 : 0;
                    if (data.has(PLOTLY_MIME)) {
                        assertTrue(data.get(PLOTLY_MIME).isJsonObject(), notebook + ": Plotly data is JSON");
                        assertTrue(html.contains("Plotly.newPlot"), notebook + ": chart HTML draws with Plotly");
                        charts++;
                    }
                }
            }
        }
        assertTrue(tables >= 1, notebook + ": shows a table as HTML through the integration's renderer");
        assertTrue(charts >= 1, notebook + ": shows a chart as Plotly through the integration's renderer");
        System.out.printf("%s executed on the Kotlin kernel in %.1f s (%d tables, %d charts)%n", notebook.getFileName(),
                (System.nanoTime() - start) / 1e9, tables, charts);
    }

    /**
     * Exports the executed head attribution notebook to HTML, keeps only its chart outputs, and
     * takes a screenshot in headless Chromium: the chart area must be full of drawn, coloured
     * pixels, and the same page without plotly.js must not be, so that the check can fail.
     */
    @Test
    @Order(2)
    void anExportedKotlinNotebookDrawsItsChartsInABrowser() throws Exception {
        Path notebook = NOTEBOOKS.resolve("02-head-attribution.ipynb");
        Path executed = EXECUTED.resolve(notebook.getFileName());
        // executed by the test above, which runs first; alone (-Dit.test=...#anExported...) it executes it here
        if (!Files.exists(executed) || Files.getLastModifiedTime(executed).toMillis() < STARTED) {
            executesOnTheKotlinKernelWithItsTablesAndCharts(notebook);
        }
        Result export = exec(300, "jupyter", "nbconvert", "--to", "html", "--output-dir", EXECUTED.toString(), executed.toString());
        assertEquals(0, export.status(), tail(export.output()));
        String html = Files.readString(EXECUTED.resolve("02-head-attribution.html"));
        assertTrue(html.contains("headlens-chart"), "the export holds the chart output");
        String chartsOnly = html.replace("</head>", "<style>.jp-Cell{display:none !important}"
                + ".jp-Cell:has(.headlens-chart){display:block !important}.jp-InputArea,.jp-InputPrompt,.jp-OutputPrompt"
                + "{display:none !important}</style></head>");
        int drawn = colouredPixels(chartsOnly, "kotlin-charts");
        int withoutPlotly = colouredPixels(chartsOnly.replaceAll("(?s)<script>\\s*/\\*\\*?\\s*\\* plotly\\.js.*?</script>", "<script></script>"),
                "kotlin-no-plotly");
        System.out.printf("Kotlin notebook, coloured pixels: %d with plotly.js, %d without%n", drawn, withoutPlotly);
        assertTrue(drawn > 20_000, "the heatmaps are drawn: " + drawn + " coloured pixels");
        assertTrue(withoutPlotly < 2_000, "without plotly.js nothing is drawn, so the check can fail: " + withoutPlotly);
    }

    /** Pixels of strong colour (channel spread over 60) in a 1000 x 1400 screenshot of the page. */
    private static int colouredPixels(String html, String name) throws Exception {
        Path page = EXECUTED.resolve("screenshot-" + name + ".html");
        Files.writeString(page, html);
        Path png = EXECUTED.resolve("screenshot-" + name + ".png");
        Files.deleteIfExists(png);
        Chart.Browser.screenshot(page, png, 1000, 1400);
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

    /** Runs a command with the scratch Jupyter path in front of the user's, so that the kernel named kotlin is ours. */
    static Result exec(int timeoutSeconds, String... command) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(new ArrayList<>(List.of(command))).redirectErrorStream(true);
        Map<String, String> environment = builder.environment();
        String path = environment.get("JUPYTER_PATH");
        environment.put("JUPYTER_PATH", JUPYTER + (path == null || path.isBlank() ? "" : File.pathSeparator + path));
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
