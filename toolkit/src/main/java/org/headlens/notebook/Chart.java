package org.headlens.notebook;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.headlens.HeadlensException;
import tech.tablesaw.plotly.components.Figure;

/**
 * A Plotly chart defined with tablesaw-jsplot, shown in notebooks (as HTML and as Plotly's own
 * MIME type), written to reports, and saved as standalone HTML or as a PNG for papers. Every form
 * works with no network: plotly.js comes from a Maven webjar and is inlined.
 */
public final class Chart {
    /** plotly.js's cartesian bundle (scatter, heatmap and the like) from the {@code org.webjars.bower:plotly.js} webjar. */
    static final String PLOTLY_RESOURCE = "/META-INF/resources/webjars/plotly.js/1.54.1/dist/plotly-cartesian.min.js";
    private static final Gson GSON = new Gson();
    private final String title;
    private final Figure figure;
    private final JsonObject json;

    private Chart(String title, Figure figure) {
        this.title = title;
        this.figure = figure;
        this.json = PlotlyJson.of(figure);
    }

    /**
     * @param title what the chart shows, also its plain-text form
     * @param figure the tablesaw-jsplot figure
     * @return the chart
     */
    public static Chart of(String title, Figure figure) {
        return new Chart(title, figure);
    }

    /** @return the title */
    public String title() {
        return title;
    }

    /** @return the tablesaw-jsplot figure, to adjust before showing */
    public Figure figure() {
        return figure;
    }

    /** @return Plotly's {@code {"data": [...], "layout": {...}}}, the {@code application/vnd.plotly.v1+json} payload */
    public JsonObject plotlyJson() {
        return json.deepCopy();
    }

    /**
     * An HTML fragment that draws the chart with a {@code Plotly} already on the page.
     *
     * @param divId id of the chart's element, unique on the page
     * @return a {@code div} and the script that fills it
     */
    public String htmlFragment(String divId) {
        // Gson escapes < > & in strings, so the JSON cannot close the script element
        return "<div id=\"" + divId + "\" class=\"headlens-chart\"></div>\n<script>Plotly.newPlot('" + divId + "', "
                + GSON.toJson(json.get("data")) + ", " + GSON.toJson(json.get("layout")) + ", {responsive: true});</script>\n";
    }

    /** @return a standalone page with plotly.js inlined */
    public String html() {
        return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"UTF-8\">\n<title>" + escape(title) + "</title>\n"
                + plotlyScript() + "</head>\n<body>\n" + htmlFragment("chart") + "</body>\n</html>\n";
    }

    /**
     * Writes the standalone page.
     *
     * @param file where to write
     * @return the file
     */
    public Path saveHtml(Path file) {
        try {
            if (file.toAbsolutePath().getParent() != null) {
                Files.createDirectories(file.toAbsolutePath().getParent());
            }
            return Files.writeString(file, html());
        } catch (IOException e) {
            throw new HeadlensException(file + ": cannot write the chart (" + e.getMessage() + ")");
        }
    }

    /**
     * Renders the chart to a PNG with headless Chromium (or Chrome), which must be installed:
     * only a browser draws Plotly exactly as the notebook shows it.
     *
     * @param file where to write the image
     * @return the file
     */
    public Path savePng(Path file) {
        try {
            Path page = Files.createTempFile("headlens-chart", ".html");
            try {
                Files.writeString(page, html());
                Browser.screenshot(page, file, 760, 500);
            } finally {
                Files.deleteIfExists(page);
            }
            return file;
        } catch (IOException e) {
            throw new HeadlensException(file + ": cannot render the chart (" + e.getMessage() + ")");
        }
    }

    @Override
    public String toString() {
        return "chart: " + title;
    }

    /** @return a script element holding plotly.js */
    static String plotlyScript() {
        try (InputStream in = Chart.class.getResourceAsStream(PLOTLY_RESOURCE)) {
            if (in == null) {
                throw new HeadlensException("plotly.js is missing from the class path (" + PLOTLY_RESOURCE
                        + "); add the org.webjars.bower:plotly.js jar");
            }
            return "<script>" + new String(in.readAllBytes(), StandardCharsets.UTF_8) + "</script>\n";
        } catch (IOException e) {
            throw new HeadlensException("cannot read plotly.js: " + e.getMessage());
        }
    }

    static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    /** Headless Chromium or Chrome, found on the PATH. */
    static final class Browser {
        private static final List<String> NAMES = List.of("chromium", "chromium-browser", "google-chrome", "google-chrome-stable");

        private Browser() {
        }

        static void screenshot(Path page, Path png, int width, int height) throws IOException {
            String browser = find();
            Path absolute = png.toAbsolutePath();
            if (absolute.getParent() != null) {
                Files.createDirectories(absolute.getParent());
            }
            Path profile = Files.createTempDirectory("headlens-browser");
            List<String> command = new ArrayList<>(List.of(browser, "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", "--user-data-dir=" + profile, "--virtual-time-budget=5000",
                    "--window-size=" + width + "," + height, "--screenshot=" + absolute, page.toUri().toString()));
            Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try {
                if (!process.waitFor(120, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    throw new HeadlensException(browser + " did not finish the screenshot within 120 s");
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new HeadlensException("interrupted while " + browser + " rendered " + page);
            } finally {
                deleteTree(profile);
            }
            if (process.exitValue() != 0 || !Files.isRegularFile(absolute)) {
                throw new HeadlensException(browser + " exited with " + process.exitValue() + " and wrote no " + absolute);
            }
        }

        private static String find() {
            for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
                for (String name : NAMES) {
                    if (Files.isExecutable(Path.of(dir, name))) {
                        return Path.of(dir, name).toString();
                    }
                }
            }
            throw new HeadlensException("no Chromium or Chrome on the PATH to draw the PNG (tried " + NAMES
                    + "); install one (Debian: apt-get install chromium) or save the chart as HTML");
        }

        private static void deleteTree(Path root) throws IOException {
            try (var paths = Files.walk(root)) {
                for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
