package org.headlens.forward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.headlens.HeadlensException;

/**
 * The activations a pass kept, by {@link Site}, TransformerLens style. On the fast path only
 * the positions after the image were computed: {@link #firstPosition()} says where the position
 * axis of every decoder activation starts, and {@link #at} refuses earlier positions. Owns the
 * native memory of what it holds; close it (or the result that holds it) when done.
 */
public final class ActivationCache implements AutoCloseable {
    private final NDManager manager;
    private final Map<Site, NDArray> activations;
    private final int firstPosition;

    private ActivationCache(NDManager manager, Map<Site, NDArray> activations, int firstPosition) {
        this.manager = manager;
        this.activations = Collections.unmodifiableMap(activations);
        this.firstPosition = firstPosition;
    }

    /**
     * Takes what a recorder collected into a manager of its own, so that the pass's temporary
     * memory can be freed.
     */
    static ActivationCache keep(Recorder recorder, NDManager owner) {
        for (NDArray activation : recorder.kept.values()) {
            NDScope.unregister(activation);
            activation.attach(owner);
        }
        return new ActivationCache(owner, new LinkedHashMap<>(recorder.kept), recorder.firstPosition);
    }

    /** @return the first decoder position held (0 on a full pass, the end of the image on the fast path) */
    public int firstPosition() {
        return firstPosition;
    }

    /** @return every site held */
    public Set<Site> sites() {
        return activations.keySet();
    }

    /** @return true if the site, or the whole layer it is a head of, was kept */
    public boolean has(Site site) {
        return activations.containsKey(site) || activations.containsKey(site.allHeads());
    }

    /**
     * @param site where
     * @return the activation (a head's slice, without the head axis, for a site with a head)
     */
    public NDArray get(Site site) {
        NDArray exact = activations.get(site);
        if (exact != null) {
            return exact;
        }
        NDArray layer = activations.get(site.allHeads());
        if (layer == null) {
            throw new HeadlensException("the pass did not keep " + site + "; ask for it with Capture.of(...)"
                    + (activations.isEmpty() ? "" : " (kept: " + activations.keySet() + ")"));
        }
        if (site.head() >= layer.getShape().get(1)) {
            throw new HeadlensException(site + ": the layer has " + layer.getShape().get(1) + " heads");
        }
        return layer.get(new NDIndex(":, {}", site.head()));
    }

    /**
     * @param site a decoder site
     * @param position a decoder position
     * @return the activation at that position, batch axis kept
     */
    public NDArray at(Site site, int position) {
        if (!site.kind().inDecoder()) {
            throw new HeadlensException(site + " is not indexed by decoder position");
        }
        NDArray activation = get(site);
        int axis = site.head() == Site.NONE ? site.kind().positionAxis() : site.kind().positionAxis() - 1;
        long held = activation.getShape().get(axis);
        if (position < firstPosition || position >= firstPosition + held) {
            throw new HeadlensException(site + ": position " + position + " was not computed by this pass (it holds positions "
                    + firstPosition + " to " + (firstPosition + held - 1)
                    + (firstPosition > 0 ? "; the fast path computes only the text after the image" : "") + ")");
        }
        StringBuilder index = new StringBuilder();
        for (int i = 0; i < axis; i++) {
            index.append(":, ");
        }
        return activation.get(new NDIndex(index + "{}", position - firstPosition));
    }

    @Override
    public void close() {
        manager.close();
    }

    /** Collects the activations a {@link Capture} asks for while a pass runs. */
    static final class Recorder {
        private final Capture capture;
        private final int firstPosition;
        private final Map<Site, NDArray> kept = new LinkedHashMap<>();

        Recorder(Capture capture, int firstPosition) {
            this.capture = capture;
            this.firstPosition = firstPosition;
        }

        /** @return the activations kept so far */
        java.util.Collection<NDArray> kept() {
            return kept.values();
        }

        /** Adds what another recorder kept (the vision activations of the same pass). */
        void addAll(Recorder other) {
            kept.putAll(other.kept);
        }

        /** @return true if some site of this kind is wanted, so the caller may skip computing it otherwise */
        boolean wants(Site.Kind kind) {
            return capture.wantsAny(kind);
        }

        /** Offers the activation of a whole site (all heads); keeps it, or the heads asked for. */
        void offer(Site site, NDArray activation) {
            if (capture.kinds().contains(site.kind()) || capture.sites().contains(site)) {
                kept.put(site, activation);
                return;
            }
            if (site.kind().perHead()) {
                for (Site wanted : capture.sites()) {
                    if (wanted.kind() == site.kind() && wanted.layer() == site.layer() && wanted.head() != Site.NONE) {
                        if (wanted.head() >= activation.getShape().get(1)) {
                            throw new HeadlensException(wanted + ": layer " + site.layer() + " has " + activation.getShape().get(1) + " heads");
                        }
                        kept.put(wanted, activation.get(new NDIndex(":, {}", wanted.head())));
                    }
                }
            }
        }
    }
}
