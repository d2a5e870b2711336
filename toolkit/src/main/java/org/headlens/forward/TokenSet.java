package org.headlens.forward;

import java.util.Arrays;

/**
 * Prompt positions an attention knockout acts on: a named {@link TokenGroup}, resolved against
 * each prompt, or explicit {@link Positions} (for example a single image patch).
 */
public sealed interface TokenSet permits TokenGroup, TokenSet.Positions {
    /**
     * Explicit decoder positions.
     *
     * @param name how the set is shown, e.g. {@code patch 12}
     * @param positions decoder positions
     */
    record Positions(String name, int[] positions) implements TokenSet {
        /** Copies the positions. */
        public Positions {
            positions = positions.clone();
        }

        @Override
        public int[] positions() {
            return positions.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Positions p && p.name.equals(name) && Arrays.equals(p.positions, positions);
        }

        @Override
        public int hashCode() {
            return name.hashCode() * 31 + Arrays.hashCode(positions);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /**
     * @param name how the set is shown
     * @param positions decoder positions
     * @return explicit positions
     */
    static TokenSet of(String name, int... positions) {
        return new Positions(name, positions);
    }
}
