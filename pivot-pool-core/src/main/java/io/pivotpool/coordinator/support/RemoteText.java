package io.pivotpool.coordinator.support;

import org.jspecify.annotations.Nullable;

/**
 * Makes text that came from a coordination backend (keys built from ids it listed, holders, error
 * replies) safe to put in a log line, an exception message or the status's last error: anyone who
 * can write under the namespace chooses that text, and a newline in it would forge a whole log
 * line. For backends' authors, as {@link CoordinatorArguments} is.
 */
public final class RemoteText {

    /** The most characters of one remote string shown; the rest is counted, not shown. */
    public static final int MAX_SHOWN = 256;

    private RemoteText() {
    }

    /**
     * Escapes every control character ({@code \n}, {@code \r}, {@code \t}, other C0 and C1 controls,
     * DEL, the Unicode line and paragraph separators, and the bidirectional-text controls) as a Java
     * escape, and shortens the text to {@link #MAX_SHOWN} characters.
     */
    public static String escape(String text) {
        if (text == null) {
            return "null";
        }
        String escaped = escapeControls(text.length() > MAX_SHOWN ? text.substring(0, MAX_SHOWN) : text);
        return (text.length() > MAX_SHOWN) ? escaped + "...(" + (text.length() - MAX_SHOWN) + " more chars)" : escaped;
    }

    /** Escapes control characters without shortening: for whole messages made of local and escaped parts. */
    public static String escapeControls(String text) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            String replacement = replacement(c);
            if (replacement != null && out == null) {
                out = new StringBuilder(text.length() + 16).append(text, 0, i);
            }
            if (out != null) {
                if (replacement != null) {
                    out.append(replacement);
                }
                else {
                    out.append(c);
                }
            }
        }
        return (out != null) ? out.toString() : text;
    }

    /**
     * The bidirectional embedding, override and isolate controls (U+202A to U+202E, U+2066 to
     * U+2069) and the marks (U+200E, U+200F, U+061C): shown raw, they reorder what a log viewer or
     * terminal displays after them, so a remote string could make a log line read as something else.
     */
    private static boolean isBidiControl(char c) {
        return (c >= '\u202a' && c <= '\u202e') || (c >= '\u2066' && c <= '\u2069') || c == '\u200e'
                || c == '\u200f' || c == '\u061c';
    }

    private static @Nullable String replacement(char c) {
        switch (c) {
            case '\n':
                return "\\n";
            case '\r':
                return "\\r";
            case '\t':
                return "\\t";
            default:
                if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029' || isBidiControl(c)) {
                    return String.format("\\u%04x", (int) c);
                }
                return null;
        }
    }
}
