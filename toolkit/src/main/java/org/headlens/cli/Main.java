package org.headlens.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.headlens.HeadlensException;
import org.headlens.Messages;

/**
 * The {@code headlens} command line: {@code headlens <command> [options]}. Errors caused by input
 * are printed as one line (with {@code --debug}, with the stack trace) and exit with status 2.
 */
public final class Main {
    /** A sub-command of the command line. */
    interface Command {
        /** @return what the command does, in a few words, for the usage text */
        String summary();

        /** @return the options it takes: parsing and the usage text both follow this list */
        List<Options.Option> options();

        /**
         * @param args options after the command name
         * @param out where results go
         * @return the exit status
         */
        int run(Options args, PrintStream out) throws Exception;
    }

    static Map<String, Command> commands() {
        Map<String, Command> commands = new LinkedHashMap<>();
        commands.put("verify-model", new VerifyModelCommand());
        commands.put("bench", new BenchCommand());
        commands.put("train-tiny", new TrainTinyCommand());
        commands.put("evaluate", new EvaluateCommand());
        commands.put("make-dataset", new MakeDatasetCommand());
        commands.put("make-model", new MakeModelCommand());
        commands.put("attribute", new AttributeCommand());
        commands.put("trace", new TraceCommand());
        commands.put("install-kernel", new InstallKernelCommand());
        commands.put("demo", new DemoCommand());
        return commands;
    }

    /**
     * @param part {@code model} or {@code eval}
     * @return that part of the embedded tiny-shapes default, under the installation folder
     */
    static java.nio.file.Path embedded(String part) {
        return java.nio.file.Path.of(System.getProperty("headlens.home", ".")).resolve("datasets/tiny-shapes").resolve(part);
    }

    private Main() {
    }

    /**
     * Refuses an output folder that holds anything: commands that write a dataset or a model
     * (not a result folder with its own claim) must not overwrite files they did not write.
     *
     * @param dir the folder named by {@code --out}
     * @return the folder
     */
    static java.nio.file.Path freshFolder(java.nio.file.Path dir) {
        if (java.nio.file.Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            boolean empty;
            try (java.util.stream.Stream<java.nio.file.Path> entries = java.nio.file.Files.list(dir)) {
                empty = entries.findAny().isEmpty();
            } catch (java.io.IOException e) {
                throw new HeadlensException(dir + ": not a folder headlens can write to (" + e.getMessage() + ")");
            }
            if (!empty) {
                throw new HeadlensException(dir + ": the folder is not empty; give --out a new or empty folder (nothing is overwritten)");
            }
        }
        return dir;
    }

    /**
     * Entry point.
     *
     * @param args command and options
     */
    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /**
     * Runs a command without exiting the JVM (used by tests).
     *
     * @param args command and options
     * @param out standard output
     * @param err standard error
     * @return exit status
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        boolean debug = Arrays.asList(args).contains("--debug");
        String[] rest = Arrays.stream(args).filter(a -> !a.equals("--debug")).toArray(String[]::new);
        Map<String, Command> commands = commands();
        if (rest.length == 0 || rest[0].equals("--help") || rest[0].equals("-h") || rest[0].equals("help")) {
            usage(out, commands);
            return 0;
        }
        Command command = commands.get(rest[0]);
        if (command == null) {
            err.println("headlens: unknown command " + Messages.quote(rest[0]));
            usage(err, commands);
            return 2;
        }
        String[] arguments = Arrays.copyOfRange(rest, 1, rest.length);
        if (Arrays.asList(arguments).contains("--help") || Arrays.asList(arguments).contains("-h")) {
            help(out, rest[0], command);
            return 0;
        }
        try {
            Map<String, List<String>> owners = new LinkedHashMap<>();
            commands.forEach((name, other) -> other.options().forEach(o -> owners.computeIfAbsent(o.name(), k -> new ArrayList<>()).add(name)));
            Options options = Options.parse(rest[0], command.options(), arguments, owners);
            return command.run(options, out);
        } catch (HeadlensException e) {
            // the message may quote a prompt or a file's content: escaped and cut, it stays one line
            err.println(Messages.oneLine("headlens " + rest[0] + ": " + e.getMessage()));
            if (debug) {
                e.printStackTrace(err);
            }
            return 2;
        } catch (Exception | Error e) {
            err.println(Messages.oneLine("headlens " + rest[0] + ": internal error: " + e) + " (run again with --debug for details)");
            if (debug) {
                e.printStackTrace(err);
            }
            return 1;
        }
    }

    private static void usage(PrintStream out, Map<String, Command> commands) {
        out.println("usage: headlens <command> [options] [--debug]");
        out.println();
        out.println("commands:");
        commands.forEach((name, command) -> {
            out.printf("  %-14s %s%n", name, command.summary());
            out.printf("  %-14s %s%n", "", Options.synopsis(command.options()));
        });
        out.println();
        out.println("headlens <command> --help describes a command's options.");
    }

    private static void help(PrintStream out, String name, Command command) {
        out.println("usage: headlens " + name + " " + Options.synopsis(command.options()) + " [--debug]");
        out.println();
        out.println(command.summary());
        out.println();
        out.println("options:");
        command.options().forEach(o -> out.println(o.describe()));
        out.printf("  %-28s %s%n", "--debug", "print the stack trace of an error");
    }
}
