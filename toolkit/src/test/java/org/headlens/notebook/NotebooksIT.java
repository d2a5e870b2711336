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
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Executes every notebook in real Jupyter ({@code jupyter nbconvert --execute}) on the kernel
 * named {@code java}, fails on any error output, and checks in headless Chromium that an exported
 * notebook really draws its chart. Needs Jupyter, the kernel and Chromium: {@code .ci/run}
 * installs them.
 */
class NotebooksIT {
    static final Path EXECUTED = Path.of("target", "executed-notebooks");

    @BeforeAll
    static void jupyterAndKernelArePresent() throws Exception {
        Result kernels = exec(Path.of("."), 60, "jupyter", "kernelspec", "list");
        if (kernels.status() != 0 || kernels.output().lines().noneMatch(line -> line.trim().startsWith("java "))) {
            fail("these tests need Jupyter and a kernel named 'java': run .ci/run, or install jupyter-nbconvert,"
                    + " python3-nbclient, jupyter-client, python3-ipykernel and then ./headlens install-kernel\n" + kernels.output());
        }
        Files.createDirectories(EXECUTED);
    }

    static Stream<Path> notebooks() throws IOException {
        return NotebooksTest.notebooks();
    }

    @ParameterizedTest
    @MethodSource("notebooks")
    void executesInJupyterWithoutErrorOutputs(Path notebook) throws Exception {
        long start = System.nanoTime();
        String[] command = {"jupyter", "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.kernel_name=java",
            "--ExecutePreprocessor.timeout=600", "--ExecutePreprocessor.startup_timeout=60", "--output-dir", EXECUTED.toString(),
            notebook.toString()};
        Result run = exec(Path.of("."), 900, command);
        // rapaio 3.0.1 sometimes never answers its first kernel_info_request (about one start in
        // six here, before any notebook code runs; its shell thread is gone): start it again
        for (int attempt = 2; attempt <= 4 && run.status() != 0 && kernelDidNotStart(run.output()); attempt++) {
            System.out.println(notebook.getFileName() + ": the kernel did not start; start " + attempt);
            run = exec(Path.of("."), 900, command);
        }
        assertEquals(0, run.status(), notebook + ": nbconvert failed\n" + tail(run.output()));
        JsonObject executed = JsonParser.parseString(Files.readString(EXECUTED.resolve(notebook.getFileName()))).getAsJsonObject();
        int rich = 0;
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
                if (type.equals("stream") && output.get("name").getAsString().equals("stderr")
                        && text(output.get("text")).contains("Exception")) {
                    fail(notebook + ": exception on stderr: " + text(output.get("text")));
                }
                if (type.equals("display_data")) {
                    JsonObject data = output.getAsJsonObject("data");
                    rich += data.has("text/html") || data.has("image/png") ? 1 : 0;
                    if (data.has("application/vnd.plotly.v1+json")) {
                        assertTrue(text(data.get("text/html")).contains("Plotly.newPlot"), notebook + ": chart HTML draws with Plotly");
                    }
                }
            }
        }
        assertTrue(rich >= 1, notebook + ": shows tables, charts or images through the display helper");
        System.out.printf("%s executed in Jupyter in %.1f s%n", notebook.getFileName(), (System.nanoTime() - start) / 1e9);
    }

    private static boolean kernelDidNotStart(String nbconvertOutput) {
        return nbconvertOutput.contains("Kernel didn't respond") || nbconvertOutput.contains("Kernel died before replying to kernel_info");
    }

    /**
     * Exports an executed notebook to HTML, keeps only its chart outputs, and takes a screenshot in
     * headless Chromium: the chart area must be full of drawn, coloured pixels. The same page
     * without plotly.js must not be, so the check can fail.
     */
    @Test
    void anExportedNotebookDrawsItsChartsInABrowser() throws Exception {
        Path notebook = NotebooksTest.NOTEBOOKS.resolve("02-head-attribution.ipynb");
        Path executed = EXECUTED.resolve(notebook.getFileName());
        if (!Files.exists(executed)) {
            executesInJupyterWithoutErrorOutputs(notebook);
        }
        Result export = exec(Path.of("."), 300, "jupyter", "nbconvert", "--to", "html", "--output-dir", EXECUTED.toString(),
                executed.toString());
        assertEquals(0, export.status(), tail(export.output()));
        String html = Files.readString(EXECUTED.resolve("02-head-attribution.html"));
        assertTrue(html.contains("headlens-chart"), "the export holds the chart output");
        // only cells with a chart, and only their outputs, so that the screenshot is the chart
        String chartsOnly = html.replace("</head>", "<style>.jp-Cell{display:none !important}"
                + ".jp-Cell:has(.headlens-chart){display:block !important}.jp-InputArea,.jp-InputPrompt,.jp-OutputPrompt"
                + "{display:none !important}</style></head>");
        int drawn = colouredPixels(chartsOnly, "charts");
        int withoutPlotly = colouredPixels(chartsOnly.replaceAll("(?s)<script>\\s*/\\*\\*?\\s*\\* plotly\\.js.*?</script>", "<script></script>"),
                "no-plotly");
        System.out.printf("coloured pixels: %d with plotly.js, %d without%n", drawn, withoutPlotly);
        assertTrue(drawn > 20_000, "the heatmap is drawn: " + drawn + " coloured pixels");
        assertTrue(withoutPlotly < 2_000, "without plotly.js nothing is drawn, so the check can fail: " + withoutPlotly);
    }

    /** Pixels of strong colour (channel spread over 60) in a 1000 x 1400 screenshot of the page. */
    private static int colouredPixels(String html, String name) throws Exception {
        Path page = EXECUTED.resolve("screenshot-" + name + ".html");
        Files.writeString(page, html);
        Path png = EXECUTED.resolve("screenshot-" + name + ".png").toAbsolutePath();
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
        Process process = new ProcessBuilder(new ArrayList<>(List.of(command))).directory(directory.toFile()).redirectErrorStream(true).start();
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
