package org.headlens.interventions;

import org.headlens.forward.Head;
import org.headlens.forward.HeadMask;

/**
 * Head ablation as the paper defines it: for each ablated head, and only for text queries after
 * the image, the keys and values at image positions are the baseline's (post-RoPE, per query
 * head under grouped-query attention). Image positions never change.
 *
 * @param heads the heads ablated
 */
public record HeadAblation(HeadMask heads) implements Intervention {
    @Override
    public void compile(RowEdits edits) {
        for (Head head : heads.ablatedHeads()) {
            edits.readBaselineImage(head);
        }
    }
}
