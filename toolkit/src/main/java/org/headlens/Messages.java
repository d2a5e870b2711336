package org.headlens;

/**
 * Puts user input into one-line messages: a prompt, a CSV field or a file name may hold line
 * breaks, control characters or megabytes of text, and an error message that quotes it must
 * still be one readable line.
 */
public final class Messages {
    /** The longest message the command line prints; longer ones end in an ellipsis. */
    public static final int MAX_MESSAGE = 500;
    /** The longest piece of user input a message quotes; longer input ends in an ellipsis. */
    public static final int MAX_QUOTED = 200;
    private static final String ELLIPSIS = "...";

    private Messages() {
    }

    /**
     * Quotes user input for a message: in double quotes, with backslash, quote, line breaks and
     * other control characters escaped as in Java source, cut to {@link #MAX_QUOTED} characters.
     *
     * @param text user input, or null
     * @return the quoted text ({@code null} unquoted for null)
     */
    public static String quote(String text) {
        if (text == null) {
            return "null";
        }
        return "\"" + truncate(escape(text, true), MAX_QUOTED) + "\"";
    }

    /**
     * Makes a message printable as one line: line breaks and other control characters escaped,
     * cut to {@link #MAX_MESSAGE} characters.
     *
     * @param message any message, or null
     * @return one line
     */
    public static String oneLine(String message) {
        return truncate(escape(String.valueOf(message), false), MAX_MESSAGE);
    }

    /**
     * Escapes what would break a line or a terminal: ISO control characters, the Unicode line and
     * paragraph separators, and (inside quotes) the quote and backslash themselves.
     */
    private static String escape(String text, boolean quoted) {
        StringBuilder out = new StringBuilder(Math.min(text.length(), 4 * MAX_MESSAGE) + 8);
        // cut early: escaping a megabyte only to keep the first few hundred characters is waste;
        // what is kept is still longer than any limit, so truncate adds the ellipsis
        int limit = Math.min(text.length(), 4 * MAX_MESSAGE);
        for (int i = 0; i < limit; i++) {
            char c = text.charAt(i);
            switch (c) {
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '"' -> out.append(quoted ? "\\\"" : "\"");
                case '\\' -> out.append(quoted ? "\\\\" : "\\");
                default -> {
                    if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029') {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.toString();
    }

    /** Cuts to at most {@code max} characters, ending in an ellipsis, never inside a surrogate pair. */
    private static String truncate(String text, int max) {
        if (text.length() <= max) {
            return text;
        }
        int end = max - ELLIPSIS.length();
        if (Character.isHighSurrogate(text.charAt(end - 1))) {
            end--;
        }
        return text.substring(0, end) + ELLIPSIS;
    }
}
