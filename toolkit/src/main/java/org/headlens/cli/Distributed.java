package org.headlens.cli;

import com.google.gson.JsonObject;
import java.io.Serializable;
import java.util.List;
import java.util.ServiceLoader;
import org.headlens.HeadlensException;

/**
 * An engine that runs a command's per-sample work as tasks of a cluster (Apache Spark, from the
 * separate {@code spark} module), found on the class path when {@code --spark} is given, so the
 * toolkit itself never depends on it. Tasks write into the run's result folder; the command then
 * reads the folder and builds the same tables as a run in one process.
 */
public interface Distributed extends AutoCloseable {
    /** Work on one sample; it travels to the worker that runs it, so it must be serializable. */
    interface Task extends Serializable {
        /** @param sampleId the sample to work on */
        void run(String sampleId);
    }

    /** Makes an engine; listed in {@code META-INF/services} by the module that provides one. */
    interface Provider {
        /**
         * @param master where tasks run, e.g. {@code local[2]} or {@code spark://host:7077}
         * @param name the application's name
         * @return the engine, to be closed when the command ends
         */
        Distributed open(String master, String name);
    }

    /**
     * Runs {@code task} on every sample, each as its own task, and returns when all finished.
     *
     * @param stage what is done, for the engine's logs
     * @param sampleIds the samples
     * @param task the work
     */
    void run(String stage, List<String> sampleIds, Task task);

    /** @return what the manifest records about the engine (name, version, master, executors) */
    JsonObject describe();

    /** Stops the engine (in this process; a cluster stays up). */
    @Override
    void close();

    /**
     * @param master the value of {@code --spark}
     * @param name the application's name
     * @return the engine the class path provides
     */
    static Distributed open(String master, String name) {
        for (Provider provider : ServiceLoader.load(Provider.class, Distributed.class.getClassLoader())) {
            return provider.open(master, name);
        }
        throw new HeadlensException("--spark needs the headlens-spark module, which is not on the class path: build it with"
                + " 'mvn -pl spark -am package' (./headlens then adds it), or submit spark/target/headlens-spark.jar with spark-submit");
    }
}
