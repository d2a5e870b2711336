package org.headlens;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Renders a chat template with Python's jinja2 in the sandbox transformers uses
 * ({@code ImmutableSandboxedEnvironment}, {@code trim_blocks}, {@code lstrip_blocks}, loop
 * controls), so that a test sees what {@code apply_chat_template} would build. Needs a Python 3
 * with jinja2 (Debian: {@code apt-get install python3-jinja2}); without one the test fails and
 * says so, because a template that is never rendered is never tested.
 */
public final class Jinja {
    private static final String SCRIPT = String.join("\n",
            "import json, sys",
            "from jinja2.sandbox import ImmutableSandboxedEnvironment",
            "request = json.load(sys.stdin)",
            "environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,",
            "                                            extensions=['jinja2.ext.loopcontrols'])",
            "def raise_exception(message):",
            "    raise ValueError(message)",
            "environment.globals['raise_exception'] = raise_exception",
            "template = environment.from_string(request['template'])",
            "text = template.render(messages=request['messages'],",
            "                       add_generation_prompt=request['add_generation_prompt'], **request['variables'])",
            "sys.stdout.write(json.dumps(text))",
            "");

    private static String python;

    private Jinja() {
    }

    /**
     * @param template the Jinja source
     * @param messages the conversation, as transformers receives it
     * @param addGenerationPrompt whether to end with the assistant's turn marker
     * @param variables further template variables (transformers passes the special tokens)
     * @return the rendered text
     */
    public static String render(String template, JsonArray messages, boolean addGenerationPrompt, Map<String, String> variables) {
        JsonObject request = new JsonObject();
        request.addProperty("template", template);
        request.add("messages", messages);
        request.addProperty("add_generation_prompt", addGenerationPrompt);
        request.add("variables", new Gson().toJsonTree(variables));
        String[] result = run(List.of(python(), "-c", SCRIPT), request.toString());
        assertEquals("0", result[0], "jinja2 failed to render the template: " + result[2]);
        return JsonParser.parseString(result[1]).getAsString();
    }

    /** The first of -Dheadlens.python, Debian's /usr/bin/python3 and python3 that has jinja2. */
    private static synchronized String python() {
        if (python != null) {
            return python;
        }
        List<String> candidates = new ArrayList<>();
        if (System.getProperty("headlens.python") != null) {
            candidates.add(System.getProperty("headlens.python"));
        }
        candidates.add("/usr/bin/python3");
        candidates.add("python3");
        for (String candidate : candidates) {
            if (run(List.of(candidate, "-c", "import jinja2.sandbox"), "")[0].equals("0")) {
                python = candidate;
                return python;
            }
        }
        fail("jinja2 is not available to " + candidates + ", so the chat template cannot be rendered as transformers "
                + "renders it; install it (Debian: apt-get install python3-jinja2) or point -Dheadlens.python at a Python that has it");
        return null;
    }

    /** @return exit code (or "missing"), standard output, standard error */
    private static String[] run(List<String> command, String input) {
        try {
            Process process = new ProcessBuilder(command).start();
            try (OutputStream in = process.getOutputStream()) {
                in.write(input.getBytes(StandardCharsets.UTF_8));
            }
            byte[] out = process.getInputStream().readAllBytes();
            byte[] err = process.getErrorStream().readAllBytes();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return new String[] {"timeout", "", ""};
            }
            return new String[] {String.valueOf(process.exitValue()), new String(out, StandardCharsets.UTF_8),
                new String(err, StandardCharsets.UTF_8)};
        } catch (IOException e) {
            return new String[] {"missing", "", e.getMessage()};
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new String[] {"interrupted", "", ""};
        }
    }
}
