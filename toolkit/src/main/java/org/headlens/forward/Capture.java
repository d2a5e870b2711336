package org.headlens.forward;

import java.util.EnumSet;
import java.util.Set;

/**
 * Which activations a pass keeps: chosen sites, every site of chosen kinds, or everything.
 * Keeping less is faster and uses less memory; the default keeps nothing but the logits.
 *
 * @param sites single sites (a site with a head keeps that head's slice)
 * @param kinds kinds kept at every layer (and every head)
 */
public record Capture(Set<Site> sites, Set<Site.Kind> kinds) {
    /** Copies the sets. */
    public Capture {
        sites = Set.copyOf(sites);
        kinds = kinds.isEmpty() ? EnumSet.noneOf(Site.Kind.class) : EnumSet.copyOf(kinds);
    }

    /** @return keep nothing but the logits */
    public static Capture none() {
        return new Capture(Set.of(), Set.of());
    }

    /** @return keep these sites */
    public static Capture of(Site... sites) {
        return new Capture(Set.of(sites), Set.of());
    }

    /** @return keep every site of these kinds */
    public static Capture every(Site.Kind... kinds) {
        return new Capture(Set.of(), Set.of(kinds));
    }

    /** @return keep every activation the pass computes */
    public static Capture everything() {
        return new Capture(Set.of(), EnumSet.allOf(Site.Kind.class));
    }

    /** @return true if nothing but the logits is kept */
    public boolean isEmpty() {
        return sites.isEmpty() && kinds.isEmpty();
    }

    /** @return true if any site of this kind is kept */
    public boolean wantsAny(Site.Kind kind) {
        return kinds.contains(kind) || sites.stream().anyMatch(s -> s.kind() == kind);
    }
}
