package org.headlens.notebook;

import com.google.gson.Gson;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringWriter;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import javax.imageio.ImageIO;
import org.headlens.HeadlensException;
import tech.tablesaw.api.Table;

/**
 * Shows results in whichever Java kernel runs the code (IJava, JJava or rapaio), found by
 * reflection so that the toolkit depends on none of them; outside a notebook it prints text.
 * Tables become HTML tables, {@link Chart}s Plotly charts, images PNGs.
 *
 * <pre>{@code
 * import static org.headlens.notebook.Display.show;
 * show(attribution.heads());
 * show(Charts.attributionHeatmap(attribution));
 * }</pre>
 */
public final class Display {
    /** Rows of a table shown before the rest is summarised. */
    public static final int TABLE_ROWS = 20;
    private static final String PLOTLY_MIME = "application/vnd.plotly.v1+json";
    /**
     * One per JVM: a kernel runs one notebook per JVM, and plotly.js is sent with the first chart
     * of the session only.
     */
    private static Display session;
    private final Kernel kernel;
    /** A kernel that displays through its own API and attached itself (the Kotlin kernel), or null. */
    private String attachedName;
    private Consumer<Map<String, String>> attached;
    private boolean plotlySent;
    private int charts;

    private Display(Kernel kernel) {
        this.kernel = kernel;
    }

    /**
     * Shows a value: a Tablesaw table, a chart, an image, or anything else as text.
     *
     * @param value what to show
     */
    public static void show(Object value) {
        session().display(value);
    }

    /** @return the display of this JVM, bound to the running kernel if there is one */
    public static synchronized Display session() {
        if (session == null) {
            session = detect();
        }
        return session;
    }

    /** @return a new display bound to the kernel running now, if any */
    static Display detect() {
        return new Display(Kernel.find());
    }

    /** @return the kernel in use: {@code rapaio}, {@code IJava}, {@code JJava} or {@code none} (plain text) */
    public synchronized String kernelName() {
        return attached != null ? attachedName : kernel == null ? "none" : kernel.name();
    }

    /**
     * Sends what {@link #show} shows to a kernel that displays through its own API and is not
     * found by reflection: the Kotlin kernel's integration attaches itself when headlens is loaded.
     *
     * @param kernelName the name {@link #kernelName()} then reports
     * @param sink receives each shown value's MIME bundle, as {@link #mimeBundle} makes it
     */
    public static void attach(String kernelName, Consumer<Map<String, String>> sink) {
        Display display = session();
        synchronized (display) {
            display.attachedName = kernelName;
            display.attached = sink;
        }
    }

    /**
     * Shows a value.
     *
     * @param value what to show
     */
    public synchronized void display(Object value) {
        Map<String, Object> bundle = bundle(value);
        if (attached != null) {
            attached.accept(texts(bundle));
        } else if (kernel == null) {
            System.out.println(bundle.get("text/plain"));
        } else {
            kernel.display(bundle);
        }
    }

    /**
     * The MIME bundle that {@link #show} would send for a value, for kernels that display through
     * their own renderer API (the Kotlin kernel's integration): always {@code text/plain}, plus
     * HTML, PNG or Plotly where they apply. Every value is text: the Plotly payload is JSON text
     * under {@code application/vnd.plotly.v1+json}, so that no JSON library's types cross over.
     * plotly.js is inlined in the first chart's HTML of the JVM, as {@link #show} does.
     *
     * @param value a Tablesaw table, a chart, an image, or anything else
     * @return MIME type to content
     */
    public static Map<String, String> mimeBundle(Object value) {
        Display display = session();
        synchronized (display) {
            return texts(display.bundle(value));
        }
    }

    private static Map<String, String> texts(Map<String, Object> bundle) {
        Map<String, String> text = new LinkedHashMap<>();
        bundle.forEach((mime, content) -> text.put(mime, content instanceof String s ? s : new Gson().toJson(content)));
        return text;
    }

    /** The MIME bundle of a value: always {@code text/plain}, plus HTML, PNG or Plotly JSON where they apply. */
    Map<String, Object> bundle(Object value) {
        Map<String, Object> bundle = new LinkedHashMap<>();
        if (value instanceof Table table) {
            Table shown = table.rowCount() > TABLE_ROWS ? table.first(TABLE_ROWS) : table;
            String more = table.rowCount() > TABLE_ROWS ? "... " + (table.rowCount() - TABLE_ROWS) + " more rows of " + table.rowCount() + "\n" : "";
            bundle.put("text/plain", shown.printAll() + "\n" + more);
            bundle.put("text/html", Tables.html(shown) + (more.isEmpty() ? "" : "<p>" + Chart.escape(more.strip()) + "</p>"));
        } else if (value instanceof Chart chart) {
            bundle.put("text/plain", chart.toString());
            String script = plotlySent ? "" : Chart.plotlyScript();
            plotlySent = true;
            bundle.put("text/html", script + chart.htmlFragment("headlens-chart-" + (++charts) + "-" + Integer.toHexString(System.identityHashCode(this))));
            bundle.put(PLOTLY_MIME, new Gson().fromJson(chart.plotlyJson(), Map.class));
        } else if (value instanceof BufferedImage image) {
            bundle.put("text/plain", "image " + image.getWidth() + "x" + image.getHeight());
            bundle.put("image/png", png(readable(image)));
        } else {
            bundle.put("text/plain", String.valueOf(value));
        }
        return bundle;
    }

    /** Model inputs are often 64 pixels or less: those are drawn 4x larger, pixel for pixel. */
    private static BufferedImage readable(BufferedImage image) {
        if (Math.max(image.getWidth(), image.getHeight()) >= 128) {
            return image;
        }
        BufferedImage large = new BufferedImage(image.getWidth() * 4, image.getHeight() * 4, BufferedImage.TYPE_INT_RGB);
        java.awt.Graphics2D g = large.createGraphics();
        g.drawImage(image, 0, 0, large.getWidth(), large.getHeight(), null);
        g.dispose();
        return large;
    }

    static String png(BufferedImage image) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            ImageIO.write(image, "png", bytes);
            return Base64.getEncoder().encodeToString(bytes.toByteArray());
        } catch (IOException e) {
            throw new HeadlensException("cannot encode the image as PNG: " + e.getMessage());
        }
    }

    /** A running kernel's display call, reached by reflection. */
    private record Kernel(String name, Object instance, Method display, Class<?> dataType) {
        /** Entry points of the kernels: class, and how to get the running kernel from it. */
        private static final List<String[]> KNOWN = List.of(
                new String[] {"rapaio", "org.rapaio.jupyter.kernel.MainApp", "field:kernel"},
                // JJava after 1.0-a6 moved its entry point; the older one is still tried for older releases
                new String[] {"JJava", "org.dflib.jjava.kernel.JavaNotebookStatics", "method:kernel"},
                new String[] {"JJava", "org.dflib.jjava.JJava", "method:getKernelInstance"},
                new String[] {"IJava", "io.github.spencerpark.ijava.IJava", "method:getKernelInstance"});

        static Kernel find() {
            for (String[] known : KNOWN) {
                try {
                    Class<?> entry = load(known[1]);
                    if (entry == null) {
                        continue;
                    }
                    String[] access = known[2].split(":");
                    Object instance = access[0].equals("field") ? field(entry, access[1]) : entry.getMethod(access[1]).invoke(null);
                    if (instance == null) {
                        continue;
                    }
                    for (Method method : instance.getClass().getMethods()) {
                        if (method.getName().equals("display") && method.getParameterCount() == 1
                                && method.getParameterTypes()[0].getSimpleName().equals("DisplayData")) {
                            return new Kernel(known[0], instance, method, method.getParameterTypes()[0]);
                        }
                    }
                } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
                    // not this kernel (or not running): try the next one
                }
            }
            return null;
        }

        void display(Map<String, Object> bundle) {
            try {
                Object data = newDisplayData((String) bundle.get("text/plain"));
                Method put = dataType.getMethod("putData", String.class, Object.class);
                for (Map.Entry<String, Object> entry : bundle.entrySet()) {
                    put.invoke(data, entry.getKey(), entry.getValue());
                }
                display.invoke(instance, data);
            } catch (ReflectiveOperationException e) {
                // the kernel changed its API: still show something rather than nothing
                PrintStream out = System.out;
                out.println(bundle.get("text/plain"));
                out.println("(headlens: " + name + " display failed: " + e + ")");
            }
        }

        /**
         * IJava's and JJava's DisplayData take the plain text in a public constructor; rapaio's
         * has a protected empty constructor and a static {@code fromText}.
         */
        private Object newDisplayData(String text) throws ReflectiveOperationException {
            try {
                return dataType.getConstructor(String.class).newInstance(text);
            } catch (NoSuchMethodException e) {
                try {
                    Constructor<?> empty = dataType.getDeclaredConstructor();
                    empty.setAccessible(true);
                    return empty.newInstance();
                } catch (NoSuchMethodException | RuntimeException again) {
                    return dataType.getMethod("fromText", String.class).invoke(null, text);
                }
            }
        }

        private static Object field(Class<?> type, String name) throws ReflectiveOperationException {
            Field field = type.getField(name);
            return field.get(null);
        }

        private static Class<?> load(String name) {
            for (ClassLoader loader : new ClassLoader[] {Thread.currentThread().getContextClassLoader(), Display.class.getClassLoader(),
                ClassLoader.getSystemClassLoader()}) {
                if (loader == null) {
                    continue;
                }
                try {
                    // do not initialise: the class of a kernel that is not running must stay inert
                    return Class.forName(name, false, loader);
                } catch (ClassNotFoundException e) {
                    // try the next loader
                }
            }
            return null;
        }
    }
}
