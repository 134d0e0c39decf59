package io.pivotpool.distributed;

/**
 * Makes text read from a shared backend safe to put in a log line, an exception message or the
 * status: control characters (a newline would forge a log line of its own) are escaped, and
 * overlong text is cut.
 */
final class LogSafe {

    private static final int MAX_LENGTH = 512;

    private LogSafe() {
    }

    static String escape(String text) {
        if (text == null) {
            return null;
        }
        StringBuilder safe = null;
        int length = Math.min(text.length(), MAX_LENGTH);
        for (int i = 0; i < length; i++) {
            char c = text.charAt(i);
            boolean control = Character.isISOControl(c) || c == '\u2028' || c == '\u2029';
            if (control && safe == null) {
                safe = new StringBuilder(length + 16).append(text, 0, i);
            }
            if (safe != null) {
                if (control) {
                    safe.append(String.format("\\u%04x", (int) c));
                }
                else {
                    safe.append(c);
                }
            }
        }
        String result = (safe != null) ? safe.toString() : text.substring(0, length);
        return (text.length() > MAX_LENGTH) ? result + "...(" + text.length() + " chars)" : result;
    }
}
