package org.headlens.flow;

import java.util.List;
import java.util.Locale;
import org.headlens.HeadlensException;
import org.headlens.forward.TokenGroup;

/**
 * A flow whose contribution is measured: the target group's queries are kept from reading the
 * source group's keys.
 *
 * @param source where information comes from, e.g. the image
 * @param target where it goes, e.g. the final token
 */
public record FlowPair(TokenGroup source, TokenGroup target) {
    /** Checks that the pair names two groups. */
    public FlowPair {
        if (source == null || target == null) {
            throw new HeadlensException("a flow pair needs a source and a target group");
        }
    }

    /**
     * The pairs of the paper: text and image into the role and final tokens, and object,
     * background and an equal-sized random set of image tokens into the text after the image.
     *
     * @return the default pairs
     */
    public static List<FlowPair> defaults() {
        return List.of(new FlowPair(TokenGroup.QUESTION, TokenGroup.ROLE), new FlowPair(TokenGroup.QUESTION, TokenGroup.FINAL),
                new FlowPair(TokenGroup.IMAGE, TokenGroup.ROLE), new FlowPair(TokenGroup.IMAGE, TokenGroup.FINAL),
                new FlowPair(TokenGroup.IMAGE_OBJECT, TokenGroup.SUFFIX_TEXT),
                new FlowPair(TokenGroup.IMAGE_BACKGROUND, TokenGroup.SUFFIX_TEXT),
                new FlowPair(TokenGroup.IMAGE_RANDOM, TokenGroup.SUFFIX_TEXT));
    }

    /** @return the pair as written in tables and on the command line, e.g. {@code image_object->suffix_text} */
    public String label() {
        return name(source) + "->" + name(target);
    }

    /**
     * @param label a pair written as {@code source->target} with group names such as
     *     {@code question}, {@code image_object}, {@code final}
     * @return the pair
     */
    public static FlowPair parse(String label) {
        String[] parts = label.trim().split("->");
        if (parts.length != 2) {
            throw new HeadlensException("flow pair '" + label + "' is not of the form source->target, e.g. image->final");
        }
        return new FlowPair(group(parts[0]), group(parts[1]));
    }

    private static String name(TokenGroup group) {
        return group.name().toLowerCase(Locale.ROOT);
    }

    private static TokenGroup group(String name) {
        for (TokenGroup group : TokenGroup.values()) {
            if (name(group).equals(name.trim())) {
                return group;
            }
        }
        throw new HeadlensException("unknown token group '" + name.trim() + "': use one of "
                + java.util.Arrays.stream(TokenGroup.values()).map(FlowPair::name).toList());
    }
}
