package org.dflib.jjava.kernel;

import java.util.ArrayList;
import java.util.List;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;

/** A stand-in for the entry point of JJava after 1.0-a6 (its static {@code kernel()}), to test display by reflection. */
public final class JavaNotebookStatics {
    /** The running kernel, or null as when JJava is not running. */
    public static Kernel running;

    private JavaNotebookStatics() {
    }

    public static Kernel kernel() {
        return running;
    }

    /** Records what it is asked to display, as JJava's kernel would publish it. */
    public static final class Kernel {
        public final List<DisplayData> shown = new ArrayList<>();

        public void display(DisplayData data) {
            shown.add(data);
        }
    }
}
