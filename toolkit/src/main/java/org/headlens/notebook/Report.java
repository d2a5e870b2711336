package org.headlens.notebook;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import tech.tablesaw.api.Table;

/**
 * A self-contained HTML report: sections of reading guidance, tables, charts and images in one
 * file that opens with no network (plotly.js and images are inlined).
 *
 * <pre>{@code
 * Report report = new Report("headlens demo");
 * report.section("Head attribution").text("Each cell is ...").chart(Charts.attributionHeatmap(result));
 * Files.writeString(out.resolve("report.html"), report.html());
 * }</pre>
 */
public final class Report {
    private final String title;
    private final List<String> body = new ArrayList<>();
    private int charts;

    /** @param title the page title */
    public Report(String title) {
        this.title = title;
    }

    /** @return this report with a new section heading */
    public Report section(String heading) {
        body.add("<h2>" + Chart.escape(heading) + "</h2>\n");
        return this;
    }

    /** @return this report with a paragraph of reading guidance */
    public Report text(String paragraph) {
        body.add("<p>" + Chart.escape(paragraph) + "</p>\n");
        return this;
    }

    /** @return this report with a table (all rows) */
    public Report table(Table table) {
        body.add(Tables.html(table));
        return this;
    }

    /** @return this report with a chart */
    public Report chart(Chart chart) {
        body.add(chart.htmlFragment("chart-" + (++charts)));
        return this;
    }

    /** @return this report with an inlined PNG image and its caption */
    public Report image(BufferedImage image, String caption) {
        body.add("<figure><img alt=\"" + Chart.escape(caption) + "\" src=\"data:image/png;base64," + Display.png(image)
                + "\"><figcaption>" + Chart.escape(caption) + "</figcaption></figure>\n");
        return this;
    }

    /** @return this report with links to files next to it (CSV tables, manifests) */
    public Report links(String label, List<String> relativePaths) {
        StringBuilder html = new StringBuilder("<p class=\"files\">" + Chart.escape(label) + ": ");
        for (String path : relativePaths) {
            html.append("<a href=\"").append(Chart.escape(path)).append("\">").append(Chart.escape(path)).append("</a> ");
        }
        body.add(html.append("</p>\n").toString());
        return this;
    }

    /** @return the whole page */
    public String html() {
        StringBuilder html = new StringBuilder("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"UTF-8\">\n<title>")
                .append(Chart.escape(title)).append("</title>\n<style>\n")
                .append("body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}\n")
                .append("table.headlens-table{border-collapse:collapse;margin:1em 0;font-size:0.9em}\n")
                .append("table.headlens-table td,table.headlens-table th{border:1px solid #ccc;padding:0.2em 0.6em}\n")
                .append("table.headlens-table caption{font-weight:bold;text-align:left}\n")
                .append("figure{display:inline-block;margin:0.5em}\nfigcaption{font-size:0.85em;color:#555}\n")
                .append("p.files{font-size:0.85em}\n</style>\n");
        if (charts > 0) {
            html.append(Chart.plotlyScript());
        }
        html.append("</head>\n<body>\n<h1>").append(Chart.escape(title)).append("</h1>\n");
        body.forEach(html::append);
        return html.append("</body>\n</html>\n").toString();
    }
}
