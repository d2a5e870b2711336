package org.headlens.kotlin

import java.awt.image.BufferedImage
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import org.headlens.notebook.Chart
import org.headlens.notebook.Display
import org.jetbrains.kotlinx.jupyter.api.MimeTypedResultEx
import org.jetbrains.kotlinx.jupyter.api.libraries.JupyterIntegration
import tech.tablesaw.api.Table
import tech.tablesaw.plotly.components.Figure

/**
 * headlens in the Kotlin Jupyter kernel: the kernel finds this class through
 * `META-INF/kotlin-jupyter-libraries/libraries.json` when a notebook loads headlens with
 * `@file:DependsOn("../kotlin/target/notebook-classpath")`, and then imports the toolkit's packages
 * and renders Tablesaw tables as HTML tables, headlens charts and Tablesaw figures as Plotly
 * charts, and images as PNGs, with the same MIME bundles that `Display.show` sends to the Java
 * kernels.
 */
class HeadlensIntegration : JupyterIntegration() {
    override fun Builder.onLoaded() {
        import(*IMPORTS.toTypedArray())
        render<Table> { result(it) }
        render<Chart> { result(it) }
        render<Figure> { result(Chart.of("Plotly figure", it)) }
        render<BufferedImage> { result(it) }
        onLoaded {
            JnaCheck.disableCudaProbeIfBroken()?.let { println(it) }
            // Display.show, which the Java notebooks use, then shows through this kernel too. Through a
            // snippet: its DISPLAY reaches the cell that runs at the time of the call, as a host kept from
            // here or from a cell callback does not (tried: what such a host displays never arrives).
            execute(ATTACH_DISPLAY)
        }
    }

    companion object {
        /** What a notebook can name without importing: the toolkit's public packages, Tablesaw's tables, `Path`. */
        val IMPORTS = listOf(
            "org.headlens.HeadlensException",
            "org.headlens.attribution.*",
            "org.headlens.data.*",
            "org.headlens.evaluation.*",
            "org.headlens.flow.*",
            "org.headlens.forward.*",
            "org.headlens.interventions.*",
            "org.headlens.metric.*",
            "org.headlens.model.*",
            "org.headlens.notebook.*",
            "tech.tablesaw.api.*",
            "java.nio.file.Path",
        )

        /** The snippet that sends `Display.show` to this kernel. */
        const val ATTACH_DISPLAY = "org.headlens.notebook.Display.attach(\"Kotlin\") " +
            "{ DISPLAY(org.headlens.kotlin.HeadlensIntegration.bundleResult(it)) }"

        /** The kernel's display result for a value: `Display`'s MIME bundle, with JSON types sent as JSON, not as text. */
        fun result(value: Any): MimeTypedResultEx = bundleResult(Display.mimeBundle(value))

        /** The kernel's display result for a MIME bundle as `Display` makes it. */
        fun bundleResult(bundle: Map<String, String>): MimeTypedResultEx =
            MimeTypedResultEx(JsonObject(bundle.mapValues { (mime, content) -> toJson(mime, content) }), false, null)

        /** Jupyter requires `application/json` and `application/...+json` data to be JSON, not a string holding it. */
        private fun toJson(mime: String, content: String): JsonElement =
            if (mime == "application/json" || (mime.startsWith("application/") && mime.endsWith("+json"))) {
                Json.parseToJsonElement(content)
            } else {
                JsonPrimitive(content)
            }
    }
}
