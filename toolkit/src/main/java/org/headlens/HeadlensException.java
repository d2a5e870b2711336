package org.headlens;

/**
 * An error caused by the user's input (a model folder, a data file, an option), with a message
 * meant to be read by a person: it names the file and what is wrong with it. The command line
 * prints only the message; anything else is a bug in headlens.
 */
public class HeadlensException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** @param message what is wrong and where, in one or two sentences */
    public HeadlensException(String message) {
        super(message);
    }

    /**
     * @param message what is wrong and where, in one or two sentences
     * @param cause the underlying failure, shown only with {@code --debug}
     */
    public HeadlensException(String message, Throwable cause) {
        super(message, cause);
    }
}
