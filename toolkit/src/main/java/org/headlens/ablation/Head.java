package org.headlens.ablation;

/**
 * One attention head of the decoder.
 *
 * @param layer decoder layer, from 0
 * @param head query head within the layer, from 0
 */
public record Head(int layer, int head) implements Comparable<Head> {
    @Override
    public int compareTo(Head other) {
        return layer != other.layer ? Integer.compare(layer, other.layer) : Integer.compare(head, other.head);
    }

    @Override
    public String toString() {
        return "L" + layer + "H" + head;
    }

    /**
     * @param text a head as {@link #toString()} writes it, e.g. {@code L3H1}
     * @return the head
     */
    public static Head parse(String text) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("L(\\d+)H(\\d+)").matcher(text.trim());
        String shown = text.trim().replaceAll("\\p{Cntrl}", "?");
        shown = shown.length() > 40 ? shown.substring(0, 40) + "..." : shown;
        if (!m.matches()) {
            throw new org.headlens.HeadlensException("head '" + shown + "' is not of the form L<layer>H<head>, e.g. L3H1");
        }
        // more digits than any model has layers or heads would overflow an int
        String layer = m.group(1).replaceFirst("^0+(?=\\d)", "");
        String head = m.group(2).replaceFirst("^0+(?=\\d)", "");
        if (layer.length() > 6 || head.length() > 6) {
            throw new org.headlens.HeadlensException("head '" + shown + "' has a layer or head number of more than 6 digits, beyond any model");
        }
        return new Head(Integer.parseInt(layer), Integer.parseInt(head));
    }
}
