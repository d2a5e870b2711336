package org.headlens.results;

import java.io.PrintStream;

/**
 * Progress of a long run: items done, rate and time left, printed at most every few seconds
 * (and for the last item) so that terminals and notebook outputs stay short.
 */
public final class Progress {
    private final String task;
    private final int total;
    private final PrintStream out;
    private final long start = System.nanoTime();
    private final long intervalNanos;
    private long lastPrint;
    private int done;

    /**
     * @param task prefix of each line, e.g. {@code attribute}
     * @param total items to do
     * @param out where lines go (null: silent)
     * @param intervalSeconds at most one line per this many seconds
     */
    public Progress(String task, int total, PrintStream out, double intervalSeconds) {
        this.task = task;
        this.total = total;
        this.out = out;
        this.intervalNanos = (long) (intervalSeconds * 1e9);
        this.lastPrint = start;
    }

    /**
     * Counts one item done.
     *
     * @param what a short description of the item (e.g. its id)
     */
    public void step(String what) {
        done++;
        long now = System.nanoTime();
        if (out != null && (now - lastPrint >= intervalNanos || done == total)) {
            lastPrint = now;
            double seconds = (now - start) / 1e9;
            double rate = done / seconds;
            out.printf("%s: %d/%d %s, %.2f/s, %s left%n", task, done, total, what, rate, duration((total - done) / rate));
        }
    }

    /** @return seconds since the start */
    public double seconds() {
        return (System.nanoTime() - start) / 1e9;
    }

    private static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%dh%02dm", s / 3600, s / 60 % 60) : s >= 60 ? String.format("%dm%02ds", s / 60, s % 60) : s + "s";
    }
}
