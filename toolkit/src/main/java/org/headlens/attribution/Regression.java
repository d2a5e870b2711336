package org.headlens.attribution;

import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.ArrayRealVector;
import org.apache.commons.math3.linear.CholeskyDecomposition;
import org.apache.commons.math3.linear.RealMatrix;
import org.apache.commons.math3.stat.correlation.PearsonsCorrelation;
import org.apache.commons.math3.stat.regression.OLSMultipleLinearRegression;
import org.headlens.HeadlensException;

/**
 * The linear model from which head attributions are read: metric = intercept + sum over heads
 * of coefficient times kept (1 when the head is kept, 0 when ablated).
 *
 * @param kind ordinary least squares, ridge or Lasso
 * @param lambda penalty strength for ridge and Lasso, on centred columns (ignored for OLS)
 */
public record Regression(Kind kind, double lambda) {
    /** Regression kinds. */
    public enum Kind {
        /** Ordinary least squares (commons-math3, QR decomposition). */
        OLS,
        /** L2 penalty on the coefficients, intercept unpenalised. */
        RIDGE,
        /** L1 penalty on the coefficients, fitted by coordinate descent. */
        LASSO
    }

    /** @return ordinary least squares, the default */
    public static Regression ols() {
        return new Regression(Kind.OLS, 0);
    }

    /** @return ridge regression with penalty {@code lambda} */
    public static Regression ridge(double lambda) {
        return new Regression(Kind.RIDGE, lambda);
    }

    /** @return Lasso with penalty {@code lambda} */
    public static Regression lasso(double lambda) {
        return new Regression(Kind.LASSO, lambda);
    }

    /**
     * A fitted model.
     *
     * @param intercept metric predicted with every head ablated
     * @param coefficients one per column: the metric gained by keeping that head
     */
    public record Fit(double intercept, double[] coefficients) {
        /** @return the prediction for one row */
        public double predict(double[] row) {
            double y = intercept;
            for (int j = 0; j < row.length; j++) {
                y += coefficients[j] * row[j];
            }
            return y;
        }

        /**
         * @return Pearson correlation between predictions and measurements on other rows (NaN when
         *     either is constant)
         */
        public double correlation(double[][] x, double[] y) {
            double[] predicted = new double[y.length];
            for (int i = 0; i < y.length; i++) {
                predicted[i] = predict(x[i]);
            }
            if (constant(predicted) || constant(y)) {
                return Double.NaN;
            }
            return new PearsonsCorrelation().correlation(predicted, y);
        }

        private static boolean constant(double[] values) {
            for (double v : values) {
                if (v != values[0]) {
                    return false;
                }
            }
            return true;
        }
    }

    /**
     * @param x rows of 0/1 kept indicators
     * @param y measured metric per row
     * @return the fit
     */
    public Fit fit(double[][] x, double[] y) {
        int n = y.length;
        int p = x[0].length;
        if (kind == Kind.OLS && n <= p + 1) {
            throw new HeadlensException("ordinary least squares needs more masks than heads + 1 (" + n + " masks for " + p
                    + " heads): raise the number of masks or use ridge or Lasso");
        }
        if (kind != Kind.OLS && !(lambda >= 0)) {
            throw new HeadlensException("the " + kind.name().toLowerCase() + " penalty must be >= 0, not " + lambda);
        }
        switch (kind) {
            case OLS: {
                for (int j = 0; j < p; j++) {
                    boolean constant = true;
                    for (int i = 1; i < n && constant; i++) {
                        constant = x[i][j] == x[0][j];
                    }
                    if (constant) {
                        throw new HeadlensException("column " + j + " is the same in every mask (that head is always kept or always"
                                + " ablated), so least squares cannot separate it: use more masks, an alpha further from 0 and 1, or ridge");
                    }
                }
                OLSMultipleLinearRegression ols = new OLSMultipleLinearRegression(1e-10);
                ols.newSampleData(y, x);
                double[] beta;
                try {
                    beta = ols.estimateRegressionParameters();
                } catch (org.apache.commons.math3.linear.SingularMatrixException e) {
                    throw new HeadlensException("the masks do not separate every head (some head is always kept or always"
                            + " ablated): use more masks, an alpha further from 0 and 1, or ridge", e);
                }
                double[] coefficients = new double[p];
                System.arraycopy(beta, 1, coefficients, 0, p);
                return new Fit(beta[0], coefficients);
            }
            case RIDGE:
                return centred(x, y, (xc, yc) -> ridge(xc, yc, lambda));
            default:
                return centred(x, y, (xc, yc) -> lasso(xc, yc, lambda));
        }
    }

    /** Fits on centred columns so the intercept is not penalised, then recovers it. */
    private static Fit centred(double[][] x, double[] y, java.util.function.BiFunction<double[][], double[], double[]> solver) {
        int n = y.length;
        int p = x[0].length;
        double[] meanX = new double[p];
        double meanY = 0;
        for (int i = 0; i < n; i++) {
            meanY += y[i] / n;
            for (int j = 0; j < p; j++) {
                meanX[j] += x[i][j] / n;
            }
        }
        double[][] xc = new double[n][p];
        double[] yc = new double[n];
        for (int i = 0; i < n; i++) {
            yc[i] = y[i] - meanY;
            for (int j = 0; j < p; j++) {
                xc[i][j] = x[i][j] - meanX[j];
            }
        }
        double[] beta = solver.apply(xc, yc);
        double intercept = meanY;
        for (int j = 0; j < p; j++) {
            intercept -= beta[j] * meanX[j];
        }
        return new Fit(intercept, beta);
    }

    /** Minimises |y - X b|^2 + lambda n |b|^2 through the normal equations. */
    private static double[] ridge(double[][] x, double[] y, double lambda) {
        RealMatrix design = new Array2DRowRealMatrix(x, false);
        RealMatrix gram = design.transpose().multiply(design);
        for (int j = 0; j < gram.getColumnDimension(); j++) {
            gram.addToEntry(j, j, lambda * y.length + 1e-12);
        }
        return new CholeskyDecomposition(gram).getSolver()
                .solve(design.transpose().operate(new ArrayRealVector(y, false))).toArray();
    }

    /** Minimises |y - X b|^2 / (2n) + lambda |b|_1 by cyclic coordinate descent. */
    private static double[] lasso(double[][] x, double[] y, double lambda) {
        int n = y.length;
        int p = x[0].length;
        double[] beta = new double[p];
        double[] residual = y.clone();
        double[] squares = new double[p];
        for (int j = 0; j < p; j++) {
            for (int i = 0; i < n; i++) {
                squares[j] += x[i][j] * x[i][j] / n;
            }
        }
        for (int sweep = 0; sweep < 10_000; sweep++) {
            double largestChange = 0;
            for (int j = 0; j < p; j++) {
                if (squares[j] == 0) {
                    continue;
                }
                double rho = 0;
                for (int i = 0; i < n; i++) {
                    rho += x[i][j] * (residual[i] + x[i][j] * beta[j]) / n;
                }
                double updated = Math.signum(rho) * Math.max(Math.abs(rho) - lambda, 0) / squares[j];
                double change = updated - beta[j];
                if (change != 0) {
                    for (int i = 0; i < n; i++) {
                        residual[i] -= x[i][j] * change;
                    }
                    beta[j] = updated;
                    largestChange = Math.max(largestChange, Math.abs(change));
                }
            }
            if (largestChange < 1e-9) {
                break;
            }
        }
        return beta;
    }
}
