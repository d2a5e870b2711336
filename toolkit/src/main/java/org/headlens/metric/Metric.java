package org.headlens.metric;

/**
 * What is measured at the final position about the answer token. Deltas from the clean run are
 * the metric of an ablated run minus the metric of the clean run.
 */
public enum Metric {
    /** The answer token's logit (the default). */
    LOGIT,
    /** The answer token's log-probability. */
    LOG_PROB,
    /** The answer token's probability. */
    PROBABILITY,
    /** The answer token's logit minus the largest other logit. */
    MARGIN;

    /**
     * @param logits final-position logits over the vocabulary
     * @param answer answer token id
     * @return the metric
     */
    public double of(float[] logits, int answer) {
        switch (this) {
            case LOGIT:
                return logits[answer];
            case MARGIN: {
                double best = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < logits.length; i++) {
                    if (i != answer) {
                        best = Math.max(best, logits[i]);
                    }
                }
                return logits[answer] - best;
            }
            default: {
                double max = Double.NEGATIVE_INFINITY;
                for (float logit : logits) {
                    max = Math.max(max, logit);
                }
                double sum = 0;
                for (float logit : logits) {
                    sum += Math.exp(logit - max);
                }
                double logProb = logits[answer] - max - Math.log(sum);
                return this == LOG_PROB ? logProb : Math.exp(logProb);
            }
        }
    }

    /** @return the name used on the command line and in files, e.g. {@code log-prob} */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    /**
     * @param label a name as {@link #label()} gives it
     * @return the metric
     */
    public static Metric parse(String label) {
        for (Metric metric : values()) {
            if (metric.label().equals(label)) {
                return metric;
            }
        }
        throw new org.headlens.HeadlensException("unknown metric '" + label + "': use logit, log-prob, probability or margin");
    }
}
