package org.headlens.forward;

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
        if (!m.matches()) {
            throw new org.headlens.HeadlensException("head " + org.headlens.Messages.quote(text.trim()) + " is not of the form L<layer>H<head>, e.g. L3H1");
        }
        try {
            return new Head(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
        } catch (NumberFormatException e) {
            // only overflow gets here: the pattern admits digits alone
            throw new org.headlens.HeadlensException("head " + org.headlens.Messages.quote(text.trim()) + " has a layer or head number beyond "
                    + Integer.MAX_VALUE, e);
        }
    }
}
