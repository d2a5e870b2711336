package org.headlens.cli;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.headlens.HeadlensException;

/** {@code --name value} and {@code --flag} options of one command, with typed, checked access. */
final class Options {
    private final String command;
    private final Map<String, String> values = new HashMap<>();
    private final Set<String> flags = new HashSet<>();

    private Options(String command) {
        this.command = command;
    }

    static Options parse(String command, String[] args) {
        Options options = new Options(command);
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--")) {
                throw new HeadlensException("unexpected argument '" + arg + "' (options look like --name value)");
            }
            String name = arg.substring(2);
            int eq = name.indexOf('=');
            if (eq >= 0) {
                options.values.put(name.substring(0, eq), name.substring(eq + 1));
            } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                options.values.put(name, args[++i]);
            } else {
                options.flags.add(name);
            }
        }
        return options;
    }

    boolean flag(String name) {
        return flags.contains(name);
    }

    String string(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    Path path(String name, String fallback) {
        String value = values.getOrDefault(name, fallback);
        if (value == null) {
            throw new HeadlensException("--" + name + " DIR is required");
        }
        return Path.of(value);
    }

    double number(String name, double fallback) {
        String value = values.get(name);
        if (value == null) {
            return fallback;
        }
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new HeadlensException("--" + name + " expects a number, got '" + value + "'");
        }
    }

    int integer(String name, int fallback) {
        String value = values.get(name);
        if (value == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new HeadlensException("--" + name + " expects a whole number, got '" + value + "'");
        }
    }

    @Override
    public String toString() {
        return command + " " + values + " " + flags;
    }
}
