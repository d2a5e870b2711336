package org.headlens.kotlin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import kotlinx.serialization.json.JsonElement;
import kotlinx.serialization.json.JsonObject;
import kotlinx.serialization.json.JsonPrimitive;
import org.headlens.forward.Heads;
import org.headlens.notebook.Charts;
import org.junit.jupiter.api.Test;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.Table;

/**
 * What the integration gives the Kotlin kernel: display results whose MIME data Jupyter accepts
 * (JSON types as JSON), the kernel's JNA equal to DJL's, and the registration file that makes the
 * kernel load the integration.
 */
class HeadlensIntegrationTest {
    private static JsonObject data(Object value) {
        JsonObject result = org.jetbrains.kotlinx.jupyter.api.ResultsKt.toJson(HeadlensIntegration.Companion.result(value));
        return (JsonObject) result.get("data");
    }

    @Test
    void tablesRenderAsHtmlTablesAndChartsAsPlotlyJsonObjects() {
        JsonObject table = data(Table.create("scores", IntColumn.create("head", 1, 2)));
        assertTrue(((JsonPrimitive) table.get("text/html")).getContent().contains("<caption>scores</caption>"), table.toString());
        assertTrue(((JsonPrimitive) table.get("text/plain")).getContent().contains("scores"));

        Heads heads = new Heads(2, 3);
        JsonObject chart = data(Charts.headGrid("grid", heads, new double[heads.count()]));
        JsonElement plotly = chart.get("application/vnd.plotly.v1+json");
        // nbformat requires +json data to be a JSON object: a string holding JSON is an invalid notebook
        assertTrue(plotly instanceof JsonObject, "Plotly data is a JSON object, not " + plotly);
        assertTrue(((JsonObject) plotly).containsKey("data") && ((JsonObject) plotly).containsKey("layout"), plotly.toString());
        assertTrue(((JsonPrimitive) chart.get("text/html")).getContent().contains("Plotly.newPlot"));

        JsonObject image = data(new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB));
        assertTrue(image.containsKey("image/png"), image.toString());
    }

    @Test
    void theKernelIsRegisteredForTheKernelToFind() throws Exception {
        String registration = Files.readString(Path.of("src/main/resources/META-INF/kotlin-jupyter-libraries/libraries.json"));
        assertTrue(registration.contains("\"" + HeadlensIntegration.class.getName() + "\""), registration);
    }

    @Test
    void jnaNotesSayWhatFailedInOneLine() {
        Error mismatch = new Error("\n\nThere is an incompatible JNA native library installed on this system\nExpected: 7.0.4\n"
                + "Found:    6.1.0\n(at /root/.cache/JNA/temp/jna1.tmp).\nTo resolve this issue you may do one of the following:\n - remove");
        assertEquals("There is an incompatible JNA native library installed on this system Expected: 7.0.4 Found: 6.1.0",
                JnaCheck.INSTANCE.summary$headlens_kotlin(mismatch));
    }

    /** The kernel that install-kernel sets up must carry the JNA that DJL brings (kotlin/kernel/pom.xml). */
    @Test
    void theKernelsJnaIsDjls() throws Exception {
        Matcher pinned = Pattern.compile("<jna.version>([^<]+)</jna.version>").matcher(Files.readString(Path.of("kernel", "pom.xml")));
        assertTrue(pinned.find(), "kotlin/kernel/pom.xml pins JNA");
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String djls = null;
        for (String entry : classPath.split(File.pathSeparator)) {
            Matcher jar = Pattern.compile("jna-(\\d[^/]*)\\.jar$").matcher(entry);
            if (jar.find()) {
                djls = jar.group(1);
            }
        }
        assertEquals(djls, pinned.group(1), "the JNA that DJL brings to the toolkit, and the kernel's");
    }
}
