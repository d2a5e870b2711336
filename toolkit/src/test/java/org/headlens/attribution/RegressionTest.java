package org.headlens.attribution;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.headlens.HeadlensException;
import org.junit.jupiter.api.Test;

class RegressionTest {
    private static final double[] TRUTH = {2.0, -1.0, 0.0, 0.5, 0.0, 3.0};
    private static final double INTERCEPT = 0.7;

    /** Random 0/1 masks and a linear metric with a little noise. */
    private static double[][][] data(int rows, double noise, long seed) {
        Random random = new Random(seed);
        double[][] x = new double[rows][TRUTH.length];
        double[][] y = new double[1][rows];
        for (int i = 0; i < rows; i++) {
            y[0][i] = INTERCEPT + noise * random.nextGaussian();
            for (int j = 0; j < TRUTH.length; j++) {
                x[i][j] = random.nextBoolean() ? 1 : 0;
                y[0][i] += TRUTH[j] * x[i][j];
            }
        }
        return new double[][][] {x, y};
    }

    @Test
    void leastSquaresRecoversAnExactLinearModel() {
        double[][][] d = data(40, 0, 1);
        Regression.Fit fit = Regression.ols().fit(d[0], d[1][0]);
        assertEquals(INTERCEPT, fit.intercept(), 1e-9);
        assertArrayEquals(TRUTH, fit.coefficients(), 1e-9);
        double[][][] heldOut = data(20, 0, 2);
        assertEquals(1.0, fit.correlation(heldOut[0], heldOut[1][0]), 1e-9);
    }

    @Test
    void heldOutCorrelationFallsWithNoise() {
        double[][][] d = data(200, 2.0, 3);
        double[][][] heldOut = data(200, 2.0, 4);
        double r = Regression.ols().fit(d[0], d[1][0]).correlation(heldOut[0], heldOut[1][0]);
        assertTrue(r > 0.5 && r < 0.95, "noisy held-out correlation " + r);
    }

    @Test
    void ridgeShrinksAndLassoZeroesSmallCoefficients() {
        double[][][] d = data(400, 0.1, 5);
        Regression.Fit ols = Regression.ols().fit(d[0], d[1][0]);
        Regression.Fit ridge = Regression.ridge(1.0).fit(d[0], d[1][0]);
        Regression.Fit lasso = Regression.lasso(0.2).fit(d[0], d[1][0]);
        assertTrue(Math.abs(ridge.coefficients()[5]) < Math.abs(ols.coefficients()[5]) - 0.5, "ridge shrinks the largest coefficient");
        assertEquals(0.0, lasso.coefficients()[2], 0.0, "Lasso sets an irrelevant head to exactly zero");
        assertEquals(0.0, lasso.coefficients()[4], 0.0);
        assertTrue(lasso.coefficients()[5] > 2.0, "Lasso keeps the large coefficient " + lasso.coefficients()[5]);
        // with no penalty both agree with least squares
        assertArrayEquals(ols.coefficients(), Regression.ridge(0).fit(d[0], d[1][0]).coefficients(), 1e-6);
        assertArrayEquals(ols.coefficients(), Regression.lasso(0).fit(d[0], d[1][0]).coefficients(), 1e-6);
    }

    @Test
    void tooFewMasksOrAConstantColumnGiveAClearError() {
        double[][][] d = data(6, 0, 6);
        HeadlensException few = assertThrows(HeadlensException.class, () -> Regression.ols().fit(d[0], d[1][0]));
        assertTrue(few.getMessage().contains("needs more masks than heads + 1 (6 masks for 6 heads)"), few.getMessage());
        double[][][] e = data(40, 0, 7);
        for (double[] row : e[0]) {
            row[3] = 1;
        }
        HeadlensException constant = assertThrows(HeadlensException.class, () -> Regression.ols().fit(e[0], e[1][0]));
        assertTrue(constant.getMessage().contains("always kept or always ablated"), constant.getMessage());
    }
}
