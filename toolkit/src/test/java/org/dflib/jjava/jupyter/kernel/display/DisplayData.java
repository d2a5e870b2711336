package org.dflib.jjava.jupyter.kernel.display;

import java.util.LinkedHashMap;
import java.util.Map;

/** A stand-in with the public shape of JJava's DisplayData: a text constructor and putData. */
public class DisplayData {
    public final Map<String, Object> data = new LinkedHashMap<>();

    public DisplayData(String text) {
        data.put("text/plain", text);
    }

    public void putData(String mimeType, Object value) {
        data.put(mimeType, value);
    }
}
