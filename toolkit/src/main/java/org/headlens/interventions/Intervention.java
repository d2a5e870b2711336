package org.headlens.interventions;

import java.util.List;
import org.headlens.forward.HeadMask;

/**
 * A change to one forward pass, written as the edits it makes to one batch row: which image a
 * head's attention reads, which attention edges are cut, what an activation becomes. The
 * {@link InterventionEngine} compiles the rows of a batch into per-layer edits and runs them,
 * on the fast path whenever every edit acts on the text after the image.
 *
 * <p>Head ablation ({@link HeadAblation}), attention knockout ({@link Knockout}) and activation
 * patching from another image ({@link ActivationPatching}) are implementations; a new one is a
 * lambda or a record:
 *
 * <pre>{@code
 * // scale one head's output after the image by a half
 * Intervention halve = edits -> edits.editActivation(Site.headOutput(new Head(3, 1)), x -> x.mul(0.5));
 * }</pre>
 */
@FunctionalInterface
public interface Intervention {
    /**
     * Adds this intervention's edits for one batch row.
     *
     * @param edits the row's edits, with the prompt and the model's head grid
     */
    void compile(RowEdits edits);

    /** @return no change at all (the clean run) */
    static Intervention none() {
        return edits -> {
        };
    }

    /** @return head ablation of these heads against the engine's baseline */
    static Intervention ablate(HeadMask heads) {
        return new HeadAblation(heads);
    }

    /** @return these attention knockouts together */
    static Intervention knockout(Knockout... knockouts) {
        return all(List.of(knockouts));
    }

    /** @return every one of {@code parts}, in one pass */
    static Intervention all(List<? extends Intervention> parts) {
        List<Intervention> copy = List.copyOf(parts);
        return edits -> copy.forEach(part -> part.compile(edits));
    }

    /** @return this intervention and {@code other} in one pass */
    default Intervention and(Intervention other) {
        return all(List.of(this, other));
    }
}
