package org.headlens.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.jar.JarFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The two repairs of rapaio's start-up, on stand-ins shaped like its classes: a loop thread that
 * ended because it read its running flag too early is started again and runs its body; a handler
 * look-up made while connecting waits and then sees the table connecting put in place.
 */
class RapaioLauncherTest {
    /** Shaped like rapaio's LoopThread, including its fault: running is set after start(). */
    public static final class LoopThread extends Thread {
        private volatile boolean running;
        private final long sleep;
        private final Runnable loopBody;

        public LoopThread(String name, long sleep, Runnable loopBody) {
            super(name);
            this.sleep = sleep;
            this.loopBody = loopBody;
        }

        @Override
        public void run() {
            while (running) {
                loopBody.run();
                try {
                    Thread.sleep(sleep);
                } catch (InterruptedException e) {
                    running = false;
                }
            }
        }

        @Override
        public synchronized void start() {
            super.start();
            try {
                // the new thread gets to read the flag first, as it sometimes does on a busy machine
                join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            running = true;
        }

        void shutdown() {
            running = false;
        }
    }

    /** Shaped like a rapaio channel: its loop thread in a field named loopThread. */
    static final class Channel {
        private volatile LoopThread loopThread;
    }

    @Test
    void aLoopThreadThatEndedAtOnceIsStartedAgainAndRuns() throws Exception {
        AtomicInteger turns = new AtomicInteger();
        Channel channel = new Channel();
        channel.loopThread = new LoopThread("Shell-0", 1, turns::incrementAndGet);
        channel.loopThread.start();
        LoopThread ended = channel.loopThread;
        assertFalse(ended.isAlive(), "the stand-in shows the fault: its thread ended without a turn");
        assertEquals(0, turns.get());

        RapaioLauncher.restartIfEnded(channel);
        assertNotSame(ended, channel.loopThread, "the channel holds the new thread, so joinUntilClose and close use it");
        assertTrue(channel.loopThread.isAlive());
        assertEquals("Shell-0", channel.loopThread.getName());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (turns.get() < 3 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(turns.get() >= 3, "the loop body runs: " + turns.get() + " turns");
        channel.loopThread.shutdown();
        channel.loopThread.join(2000);
    }

    @Test
    void aRunningLoopThreadIsLeftAlone() throws Exception {
        Channel channel = new Channel();
        LoopThread thread = new LoopThread("Heartbeat-0", 1, () -> { });
        Field running = LoopThread.class.getDeclaredField("running");
        running.setBoolean(thread, true);
        channel.loopThread = thread;
        thread.start();
        RapaioLauncher.restartIfEnded(channel);
        assertTrue(channel.loopThread == thread && thread.isAlive());
        thread.shutdown();
        thread.join(2000);
    }

    /** Shaped like rapaio's Channels: a handler table that connect() fills last. */
    static final class Channels {
        private Map<Object, Object> handlers;
    }

    @Test
    void aHandlerLookUpWhileConnectingWaitsForTheTable() throws Exception {
        Channels channels = new Channels();
        Field field = Channels.class.getDeclaredField("handlers");
        field.setAccessible(true);
        CountDownLatch connected = new CountDownLatch(1);
        channels.handlers = new RapaioLauncher.HandlersAfterConnect(connected, channels, field);
        AtomicReference<Object> seen = new AtomicReference<>();
        Thread shell = new Thread(() -> seen.set(channels.handlers.get("kernel_info_request")));
        shell.start();
        shell.join(200);
        assertTrue(shell.isAlive(), "the look-up waits while connecting");
        Map<Object, Object> table = new HashMap<>();
        table.put("kernel_info_request", "handler");
        channels.handlers = table;
        connected.countDown();
        shell.join(2000);
        assertEquals("handler", seen.get(), "and then finds the handler connect() registered");
    }

    @Test
    void theLauncherJarHoldsTheLauncherAlone(@TempDir Path folder) throws Exception {
        Path jar = folder.resolve(InstallKernelCommand.LAUNCHER_JAR);
        InstallKernelCommand.writeLauncherJar(jar);
        try (JarFile file = new JarFile(jar.toFile())) {
            assertEquals(java.util.List.of("META-INF/MANIFEST.MF", "org/headlens/cli/RapaioLauncher.class",
                    "org/headlens/cli/RapaioLauncher$HandlersAfterConnect.class"),
                    file.stream().map(e -> e.getName()).toList());
        }
        assertTrue(Files.size(jar) < 20_000);
    }
}
