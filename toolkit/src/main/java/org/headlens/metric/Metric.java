package org.headlens.metric;

import org.headlens.HeadlensException;

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
     * @param logits final-position logits over the vocabulary, all finite
     * @param answer answer token id
     * @return the metric, always a finite number
     * @throws HeadlensException when a logit is NaN or infinite, since no metric computed from
     *     such logits means anything (check first with {@link #requireFinite} to name the sample)
     */
    public double of(float[] logits, int answer) {
        requireFinite(logits, "the model's output");
        double value = compute(logits, answer);
        if (!Double.isFinite(value)) {
            throw new HeadlensException("the " + label() + " metric is " + value + " for answer token " + answer
                    + " of a vocabulary of " + logits.length + " tokens; it is not a number that can be compared");
        }
        return value;
    }

    /**
     * Refuses logits that hold NaN or infinity: a weight or an activation was not finite (in
     * float16 an activation overflows beyond 65504), so no answer or metric may be read from them.
     *
     * @param logits final-position logits
     * @param what whose logits they are, e.g. {@code sample s3}, for the message
     * @throws HeadlensException naming {@code what} and how many values are not finite
     */
    public static void requireFinite(float[] logits, String what) {
        if (isFinite(logits)) {
            return;
        }
        int nan = 0;
        int infinite = 0;
        for (float logit : logits) {
            if (Float.isNaN(logit)) {
                nan++;
            } else if (Float.isInfinite(logit)) {
                infinite++;
            }
        }
        if (nan > 0 || infinite > 0) {
            throw new HeadlensException(what + ": the final logits hold " + nan + " NaN and " + infinite + " infinite values (of "
                    + logits.length + "), so a weight or an activation is not finite (in float16, activations overflow beyond 65504;"
                    + " try float32); no answer or metric is taken from them");
        }
    }

    /**
     * @param logits final-position logits
     * @return true when every logit is a finite number
     */
    public static boolean isFinite(float[] logits) {
        for (float logit : logits) {
            if (!Float.isFinite(logit)) {
                return false;
            }
        }
        return true;
    }

    private double compute(float[] logits, int answer) {
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
        throw new HeadlensException("unknown metric '" + label + "': use logit, log-prob, probability or margin");
    }
}
