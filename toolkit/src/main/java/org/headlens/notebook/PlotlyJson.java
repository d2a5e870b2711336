package org.headlens.notebook;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.stream.JsonReader;
import java.io.StringReader;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.headlens.HeadlensException;
import tech.tablesaw.plotly.components.Figure;

/**
 * A tablesaw-jsplot figure as Plotly's JSON ({@code {"data": [...], "layout": {...}}}).
 * tablesaw-jsplot writes JavaScript object literals (unquoted keys, single quotes, trailing
 * commas, HTML-escaped text); reading them leniently keeps tablesaw-jsplot the one place a chart
 * is defined, while notebooks get the JSON that the Plotly MIME type and {@code Plotly.newPlot}
 * take.
 */
final class PlotlyJson {
    private static final Pattern DECLARATION = Pattern.compile("var (layout|trace\\d+) =\\s*");

    private PlotlyJson() {
    }

    static JsonObject of(Figure figure) {
        String script = figure.asJavascript("headlens_chart");
        JsonObject layout = new JsonObject();
        JsonArray data = new JsonArray();
        Matcher declaration = DECLARATION.matcher(script);
        while (declaration.find()) {
            int start = declaration.end();
            int end = closingBrace(script, start);
            JsonObject value = parse(withoutTrailingCommas(script.substring(start, end + 1))).getAsJsonObject();
            if (declaration.group(1).equals("layout")) {
                layout = value;
            } else {
                data.add(value);
            }
        }
        JsonObject json = new JsonObject();
        json.add("data", unescape(data));
        json.add("layout", titlesAsObjects(unescape(layout).getAsJsonObject()));
        return json;
    }

    /**
     * Plotly 1.x also reads a title given as a plain string, Plotly 2 and later (which
     * JupyterLab's renderer of the Plotly MIME type may use) only {@code {"text": ...}}.
     */
    private static JsonObject titlesAsObjects(JsonObject layout) {
        if (layout.has("title") && layout.get("title").isJsonPrimitive()) {
            JsonObject title = new JsonObject();
            title.add("text", layout.get("title"));
            layout.add("title", title);
        }
        for (var entry : layout.entrySet()) {
            if (entry.getKey().matches("[xyz]axis\\d*") && entry.getValue().isJsonObject()) {
                titlesAsObjects(entry.getValue().getAsJsonObject());
            }
        }
        return layout;
    }

    private static JsonElement parse(String literal) {
        JsonReader reader = new JsonReader(new StringReader(literal));
        reader.setLenient(true);
        return JsonParser.parseReader(reader);
    }

    /** Index of the brace closing the object that opens at {@code start}, skipping quoted text. */
    private static int closingBrace(String text, int start) {
        if (text.charAt(start) != '{') {
            throw new HeadlensException("unexpected chart script from tablesaw-jsplot at: "
                    + text.substring(start, Math.min(text.length(), start + 40)));
        }
        int depth = 0;
        char quote = 0;
        for (int i = start; i < text.length(); i++) {
            char c = text.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if ((c == '}' || c == ']') && --depth == 0) {
                return i;
            }
        }
        throw new HeadlensException("unbalanced chart script from tablesaw-jsplot");
    }

    /** Drops commas directly before a closing bracket, outside quoted text. */
    private static String withoutTrailingCommas(String literal) {
        StringBuilder out = new StringBuilder(literal.length());
        char quote = 0;
        for (int i = 0; i < literal.length(); i++) {
            char c = literal.charAt(i);
            if (quote != 0) {
                out.append(c);
                if (c == '\\' && i + 1 < literal.length()) {
                    out.append(literal.charAt(++i));
                } else if (c == quote) {
                    quote = 0;
                }
                continue;
            }
            if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == ',') {
                int next = i + 1;
                while (next < literal.length() && Character.isWhitespace(literal.charAt(next))) {
                    next++;
                }
                if (next < literal.length() && (literal.charAt(next) == '}' || literal.charAt(next) == ']')) {
                    continue;
                }
            }
            out.append(c);
        }
        return out.toString();
    }

    /** Turns the HTML escapes tablesaw-jsplot's templates put into strings back into text. */
    private static JsonElement unescape(JsonElement element) {
        if (element.isJsonObject()) {
            JsonObject out = new JsonObject();
            element.getAsJsonObject().entrySet().forEach(e -> out.add(e.getKey(), unescape(e.getValue())));
            return out;
        }
        if (element.isJsonArray()) {
            JsonArray out = new JsonArray();
            element.getAsJsonArray().forEach(e -> out.add(unescape(e)));
            return out;
        }
        if (element.isJsonPrimitive() && element.getAsJsonPrimitive().isString()) {
            String text = element.getAsString().replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<")
                    .replace("&gt;", ">").replace("&amp;", "&");
            return new com.google.gson.JsonPrimitive(text);
        }
        return element;
    }
}
