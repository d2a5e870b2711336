package org.headlens.ablation;

import java.util.List;

/**
 * One intervention applied in a single forward pass: head ablation of image-to-text flow plus any
 * attention knockouts.
 *
 * @param ablation heads whose image keys/values are replaced by the baseline's for text queries
 *     after the image (null for none)
 * @param knockouts attention edges cut
 */
public record Intervention(HeadMask ablation, List<Knockout> knockouts) {
    /** @return an intervention that only ablates heads */
    public static Intervention ablate(HeadMask heads) {
        return new Intervention(heads, List.of());
    }

    /** @return an intervention that only cuts attention edges */
    public static Intervention knockout(Knockout... knockouts) {
        return new Intervention(null, List.of(knockouts));
    }

    /** @return no change at all (the clean run) */
    public static Intervention none() {
        return new Intervention(null, List.of());
    }
}
