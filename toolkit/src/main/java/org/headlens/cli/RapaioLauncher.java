package org.headlens.cli;

import java.io.InputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.AbstractMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.logging.LogManager;

/**
 * Starts rapaio-jupyter-kernel 3.0.1 as its own {@code MainApp} does, without the two start-up
 * races that leave about one start in three (on two busy cores) never answering:
 * <ul>
 * <li>a channel's {@code LoopThread} sets its {@code running} flag only after {@code Thread.start()},
 *     so a thread scheduled at once reads {@code false} and ends silently: heartbeat, shell or
 *     control is then gone. Each loop thread found ended after connecting is started again,
 *     with the flag set first.</li>
 * <li>the shell thread handles requests as soon as its socket is bound, but the handler table is
 *     filled only at the end of {@code Channels.connect}: an early {@code kernel_info_request}
 *     throws a NullPointerException that ends the shell thread. Until connecting is done the
 *     table here makes such a request wait.</li>
 * </ul>
 * The kernelspec that {@code install-kernel} writes runs this class with the kernel jar; it uses
 * rapaio's classes by reflection only, so it lives alone in a small jar beside the kernel's (and
 * never on the notebook class path).
 */
public final class RapaioLauncher {
    private static final String PACKAGE = "org.rapaio.jupyter.kernel.";

    private RapaioLauncher() {
    }

    /**
     * @param args the connection file that Jupyter passes
     * @throws Exception when the kernel cannot start (Jupyter shows the kernel as dead)
     */
    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: RapaioLauncher CONNECTION_FILE");
            System.exit(2);
        }
        Class<?> mainApp = Class.forName(PACKAGE + "MainApp");
        try (InputStream logging = mainApp.getClassLoader().getResourceAsStream("logging.properties")) {
            if (logging != null) {
                LogManager.getLogManager().readConfiguration(logging);
            }
        }
        Class<?> propertiesClass = Class.forName(PACKAGE + "core.ConnectionProperties");
        Object properties = Class.forName(PACKAGE + "core.Transform").getMethod("fromJson", String.class, Class.class)
                .invoke(null, Files.readString(Path.of(args[0])), propertiesClass);
        Class<?> channelsClass = Class.forName(PACKAGE + "channels.Channels");
        Object channels = channelsClass.getConstructor(propertiesClass).newInstance(properties);

        Field handlers = channelsClass.getDeclaredField("handlers");
        handlers.setAccessible(true);
        CountDownLatch connected = new CountDownLatch(1);
        handlers.set(channels, new HandlersAfterConnect(connected, channels, handlers));
        Object kernel = mainApp.getField("kernel").get(null);
        channelsClass.getMethod("connect", Class.forName(PACKAGE + "core.RapaioKernel")).invoke(channels, kernel);
        connected.countDown();

        for (String name : new String[] {"heartbeat", "shell", "control"}) {
            Field channelField = channelsClass.getDeclaredField(name);
            channelField.setAccessible(true);
            restartIfEnded(channelField.get(channels));
        }
        channelsClass.getMethod("joinUntilClose").invoke(channels);
    }

    /** Starts a channel's loop thread again if it ended at once (it read its running flag before start() set it). */
    static void restartIfEnded(Object channel) throws Exception {
        Field threadField = channel.getClass().getDeclaredField("loopThread");
        threadField.setAccessible(true);
        Thread thread = (Thread) threadField.get(channel);
        // a thread that read false ends within microseconds; a running one just times out here
        thread.join(50);
        if (thread.isAlive()) {
            return;
        }
        Class<?> loopClass = thread.getClass();
        Field sleep = loopClass.getDeclaredField("sleep");
        Field body = loopClass.getDeclaredField("loopBody");
        Field running = loopClass.getDeclaredField("running");
        sleep.setAccessible(true);
        body.setAccessible(true);
        running.setAccessible(true);
        Constructor<?> constructor = loopClass.getConstructor(String.class, long.class, Runnable.class);
        Thread again = (Thread) constructor.newInstance(thread.getName(), sleep.getLong(thread), body.get(thread));
        running.setBoolean(again, true);
        threadField.set(channel, again);
        again.start();
        System.err.println("headlens: restarted rapaio's " + thread.getName() + " loop, which ended at start-up");
    }

    /**
     * The handler table the shell thread sees while {@code connect} runs: a look-up waits until
     * connecting is done, then reads the real table that {@code connect} put in the field.
     */
    static final class HandlersAfterConnect extends AbstractMap<Object, Object> {
        private final CountDownLatch connected;
        private final Object channels;
        private final Field field;

        HandlersAfterConnect(CountDownLatch connected, Object channels, Field field) {
            this.connected = connected;
            this.channels = channels;
            this.field = field;
        }

        @SuppressWarnings("unchecked")
        private Map<Object, Object> real() {
            try {
                connected.await();
                Object table = field.get(channels);
                return table == this ? Map.of() : (Map<Object, Object>) table;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Map.of();
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public Object get(Object key) {
            return real().get(key);
        }

        @Override
        public Set<Entry<Object, Object>> entrySet() {
            return real().entrySet();
        }
    }
}
