package dev.standin.agent.transport;

/**
 * Text from the wire, made safe to quote back to a peer or into a log line: one line, printable,
 * bounded. A hostile name may hold newlines (a forged log line), terminal escapes or bidirectional
 * overrides, and may be thousands of bytes long; none of that reaches a message as it is.
 */
public final class WireText {

    /** What a quoted name keeps: enough to recognise it, well inside a message's string field. */
    static final int MAX_QUOTED = 200;
    /** A whole reply's reason: under {@link Message#MAX_STRING} bytes even if every char takes 4. */
    static final int MAX_REASON = 1000;

    private WireText() {}

    /** {@code text} with control and format characters as {@code \\uXXXX}, cut to {@value #MAX_QUOTED} chars. */
    public static String quote(String text) {
        return escape(text, MAX_QUOTED);
    }

    /** A reason for a Failure message or a log line: escaped as {@link #quote}, cut to {@value #MAX_REASON} chars. */
    public static String reason(String text) {
        return escape(text == null ? "" : text, MAX_REASON);
    }

    private static String escape(String text, int max) {
        StringBuilder out = new StringBuilder(Math.min(text.length(), max) + 16);
        int i = 0;
        while (i < text.length() && out.length() < max) {
            int c = text.codePointAt(i);
            i += Character.charCount(c);
            int type = Character.getType(c);
            if (c == '\\' || type == Character.CONTROL || type == Character.FORMAT || type == Character.SURROGATE
                    || type == Character.UNASSIGNED || type == Character.LINE_SEPARATOR
                    || type == Character.PARAGRAPH_SEPARATOR) {
                out.append(c == '\\' ? "\\\\" : String.format("\\u%04x", c));
            } else {
                out.appendCodePoint(c);
            }
        }
        if (i < text.length()) {
            out.append("... (").append(text.length() - i).append(" more chars)");
        }
        return out.toString();
    }
}
