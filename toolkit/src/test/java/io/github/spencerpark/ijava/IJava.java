package io.github.spencerpark.ijava;

import io.github.spencerpark.jupyter.kernel.display.DisplayData;
import java.util.ArrayList;
import java.util.List;

/** A stand-in for IJava's entry point with the same static accessor, to test display by reflection. */
public final class IJava {
    /** The running kernel, or null as when IJava is not running. */
    public static Kernel running;

    private IJava() {
    }

    public static Kernel getKernelInstance() {
        return running;
    }

    /** Records what it is asked to display, as IJava's kernel would publish it. */
    public static final class Kernel {
        public final List<DisplayData> shown = new ArrayList<>();

        public void display(DisplayData data) {
            shown.add(data);
        }
    }
}
