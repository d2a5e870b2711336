package org.headlens.forward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Read and overwrite activations at {@link HookSite}s during a forward pass.
 *
 * <pre>{@code
 * Hooks hooks = Hooks.create()
 *     .cache(HookSite.RESIDUAL_POST, 2, scope)                 // keep layer 2's output
 *     .patch(HookSite.HEAD_OUTPUT, 1, x -> x.mul(0));          // zero layer 1's head outputs
 * }</pre>
 */
public final class Hooks {
    private record Key(HookSite site, int layer) {
    }

    private final Map<Key, List<UnaryOperator<NDArray>>> hooks = new LinkedHashMap<>();
    private final Map<String, NDArray> cached = new LinkedHashMap<>();

    private Hooks() {
    }

    /** @return an empty set of hooks */
    public static Hooks create() {
        return new Hooks();
    }

    /**
     * Replaces the activation at a site with {@code patch(activation)}.
     *
     * @param site where
     * @param layer which decoder layer
     * @param patch the replacement function (must keep the shape)
     * @return this
     */
    public Hooks patch(HookSite site, int layer, UnaryOperator<NDArray> patch) {
        hooks.computeIfAbsent(new Key(site, layer), k -> new ArrayList<>()).add(patch);
        return this;
    }

    /**
     * Keeps a copy of the activation at a site, readable afterwards with {@link #cached}.
     *
     * @param site where
     * @param layer which decoder layer
     * @param owner manager that owns the copy
     * @return this
     */
    public Hooks cache(HookSite site, int layer, NDManager owner) {
        return patch(site, layer, activation -> {
            NDArray copy = activation.duplicate();
            NDScope.unregister(copy);
            copy.attach(owner);
            cached.put(site + "." + layer, copy);
            return activation;
        });
    }

    /**
     * @param site where
     * @param layer which layer
     * @return the cached activation, or null if none was cached
     */
    public NDArray cached(HookSite site, int layer) {
        return cached.get(site + "." + layer);
    }

    NDArray apply(HookSite site, int layer, NDArray activation) {
        List<UnaryOperator<NDArray>> list = hooks.get(new Key(site, layer));
        if (list == null) {
            return activation;
        }
        NDArray value = activation;
        for (UnaryOperator<NDArray> hook : list) {
            value = hook.apply(value);
        }
        return value;
    }

    boolean has(HookSite site, int layer) {
        return hooks.containsKey(new Key(site, layer));
    }
}
