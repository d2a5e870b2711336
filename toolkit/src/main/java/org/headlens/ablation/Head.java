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
}
