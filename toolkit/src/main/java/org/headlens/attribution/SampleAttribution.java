package org.headlens.attribution;

/**
 * Everything measured on one sample. Per-head arrays are layer-major: index = layer * heads + head.
 *
 * @param id sample id
 * @param shape the sample's class
 * @param style its appearance style
 * @param correct whether the clean model's top token is the answer
 * @param clean metric of the clean run
 * @param allAblated metric with every head ablated
 * @param intercept the fit's intercept (metric predicted with every head ablated)
 * @param attribution per head, the fitted metric gain of keeping it
 * @param heldOutCorrelation Pearson correlation of predicted and measured metric on held-out masks
 * @param singleHead per head, clean metric minus the metric with only that head ablated
 * @param attentionToImage per head, attention mass from the final token to image tokens (clean run)
 * @param seconds time spent on this sample
 */
public record SampleAttribution(String id, String shape, String style, boolean correct, double clean, double allAblated,
        double intercept, double[] attribution, double heldOutCorrelation, double[] singleHead, double[] attentionToImage,
        double seconds) {
}
