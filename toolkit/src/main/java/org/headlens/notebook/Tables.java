package org.headlens.notebook;

import tech.tablesaw.api.Table;
import tech.tablesaw.columns.Column;

/** Tablesaw tables as HTML for notebook outputs and reports. */
final class Tables {
    private Tables() {
    }

    /** @return the whole table as an HTML {@code table} with its name as caption; numbers to 4 significant digits */
    static String html(Table table) {
        StringBuilder html = new StringBuilder("<table class=\"headlens-table\">\n<caption>").append(Chart.escape(table.name()))
                .append("</caption>\n<thead><tr>");
        for (Column<?> column : table.columns()) {
            html.append("<th>").append(Chart.escape(column.name())).append("</th>");
        }
        html.append("</tr></thead>\n<tbody>\n");
        for (int row = 0; row < table.rowCount(); row++) {
            html.append("<tr>");
            for (Column<?> column : table.columns()) {
                Object value = column.get(row);
                String text = value instanceof Double d ? format(d) : String.valueOf(value);
                html.append(value instanceof Number ? "<td style=\"text-align:right\">" : "<td>").append(Chart.escape(text)).append("</td>");
            }
            html.append("</tr>\n");
        }
        return html.append("</tbody>\n</table>\n").toString();
    }

    private static String format(double value) {
        if (Double.isNaN(value)) {
            return "";
        }
        return value == Math.rint(value) && Math.abs(value) < 1e6 ? String.valueOf((long) value) : String.format("%.4g", value);
    }
}
