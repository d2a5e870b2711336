package org.headlens.attribution;

import org.headlens.HeadlensException;
import org.headlens.interventions.Baseline;
import org.headlens.metric.Metric;

/**
 * Options of a head attribution run. Start from {@link #defaults()} and change what differs,
 * e.g. {@code AttributionOptions.defaults().withMasks(512).withSeed(7)}.
 *
 * @param masks random masks per sample the regression is fitted on
 * @param heldOutMasks further masks, drawn separately, on which the fit's correlation is reported
 * @param alpha probability that a head is ablated in a random mask
 * @param metric what is measured about the answer token
 * @param regression the linear model
 * @param baseline what ablated heads see at image positions
 * @param seed seed of the masks (with the sample id, so a sample's masks do not depend on order)
 * @param dropIncorrect skip samples whose clean answer is wrong
 * @param curvePoints at most this many values of k on the evaluation curves
 * @param topK heads compared by the top-k overlap of the similarity analysis
 */
public record AttributionOptions(int masks, int heldOutMasks, double alpha, Metric metric, Regression regression,
        Baseline baseline, long seed, boolean dropIncorrect, int curvePoints, int topK) {

    /** Checks ranges. */
    public AttributionOptions {
        if (masks < 2 || heldOutMasks < 2) {
            throw new HeadlensException("masks and held-out masks must be at least 2, not " + masks + " and " + heldOutMasks);
        }
        if (!(alpha > 0 && alpha < 1)) {
            throw new HeadlensException("alpha is the probability of ablating a head and must lie strictly between 0 and 1, not " + alpha);
        }
        if (curvePoints < 2 || topK < 1) {
            throw new HeadlensException("curve points must be at least 2 and top-k at least 1");
        }
    }

    /** @return 256 masks, 64 held out, alpha 0.5, answer logit, OLS, blank baseline, seed 0, correct samples only */
    public static AttributionOptions defaults() {
        return new AttributionOptions(256, 64, 0.5, Metric.LOGIT, Regression.ols(), Baseline.blank(), 0, true, 33, 5);
    }

    /** @return a copy with {@code masks} masks per sample */
    public AttributionOptions withMasks(int value) {
        return new AttributionOptions(value, heldOutMasks, alpha, metric, regression, baseline, seed, dropIncorrect, curvePoints, topK);
    }

    /** @return a copy with {@code value} held-out masks */
    public AttributionOptions withHeldOutMasks(int value) {
        return new AttributionOptions(masks, value, alpha, metric, regression, baseline, seed, dropIncorrect, curvePoints, topK);
    }

    /** @return a copy with ablation probability {@code value} */
    public AttributionOptions withAlpha(double value) {
        return new AttributionOptions(masks, heldOutMasks, value, metric, regression, baseline, seed, dropIncorrect, curvePoints, topK);
    }

    /** @return a copy measuring {@code value} */
    public AttributionOptions withMetric(Metric value) {
        return new AttributionOptions(masks, heldOutMasks, alpha, value, regression, baseline, seed, dropIncorrect, curvePoints, topK);
    }

    /** @return a copy fitting {@code value} */
    public AttributionOptions withRegression(Regression value) {
        return new AttributionOptions(masks, heldOutMasks, alpha, metric, value, baseline, seed, dropIncorrect, curvePoints, topK);
    }

    /** @return a copy with baseline {@code value} */
    public AttributionOptions withBaseline(Baseline value) {
        return new AttributionOptions(masks, heldOutMasks, alpha, metric, regression, value, seed, dropIncorrect, curvePoints, topK);
    }

    /** @return a copy with seed {@code value} */
    public AttributionOptions withSeed(long value) {
        return new AttributionOptions(masks, heldOutMasks, alpha, metric, regression, baseline, value, dropIncorrect, curvePoints, topK);
    }

    /** @return a copy that keeps ({@code false}) or drops samples answered wrongly */
    public AttributionOptions withDropIncorrect(boolean value) {
        return new AttributionOptions(masks, heldOutMasks, alpha, metric, regression, baseline, seed, value, curvePoints, topK);
    }

    /** @return a copy with at most {@code value} points per evaluation curve */
    public AttributionOptions withCurvePoints(int value) {
        return new AttributionOptions(masks, heldOutMasks, alpha, metric, regression, baseline, seed, dropIncorrect, value, topK);
    }

    /** @return a copy comparing the top {@code value} heads in the similarity analysis */
    public AttributionOptions withTopK(int value) {
        return new AttributionOptions(masks, heldOutMasks, alpha, metric, regression, baseline, seed, dropIncorrect, curvePoints, value);
    }
}
