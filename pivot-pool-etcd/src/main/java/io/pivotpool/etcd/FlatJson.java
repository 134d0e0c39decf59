package io.pivotpool.etcd;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A flat JSON object of string values, the form of the leader and member records: readable with
 * {@code etcdctl get}, and parsed here strictly (no nesting, no numbers, no duplicate names) so that
 * whatever else someone stored is refused as garbage rather than interpreted. Never Java
 * serialization.
 */
final class FlatJson {

    private FlatJson() {
    }

    static String write(Map<String, String> fields) {
        StringBuilder out = new StringBuilder(64).append('{');
        boolean first = true;
        for (Map.Entry<String, String> field : fields.entrySet()) {
            if (!first) {
                out.append(',');
            }
            first = false;
            string(out, field.getKey());
            out.append(':');
            string(out, field.getValue());
        }
        return out.append('}').toString();
    }

    private static void string(StringBuilder out, String text) {
        out.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    }
                    else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    /**
     * @throws IllegalArgumentException if {@code text} is not a flat object of strings
     */
    static Map<String, String> read(String text) {
        Parser parser = new Parser(text);
        Map<String, String> fields = new LinkedHashMap<>();
        parser.skipSpace();
        parser.expect('{');
        parser.skipSpace();
        if (parser.peek() == '}') {
            parser.next();
        }
        else {
            while (true) {
                parser.skipSpace();
                String name = parser.string();
                parser.skipSpace();
                parser.expect(':');
                parser.skipSpace();
                String value = parser.string();
                if (fields.put(name, value) != null) {
                    throw new IllegalArgumentException("duplicate field");
                }
                parser.skipSpace();
                char c = parser.next();
                if (c == '}') {
                    break;
                }
                if (c != ',') {
                    throw new IllegalArgumentException("expected ',' or '}' at " + (parser.position - 1));
                }
            }
        }
        parser.skipSpace();
        if (parser.position != text.length()) {
            throw new IllegalArgumentException("trailing characters after the object");
        }
        return fields;
    }

    private static final class Parser {

        private final String text;

        private int position;

        Parser(String text) {
            this.text = text;
        }

        char peek() {
            if (this.position >= this.text.length()) {
                throw new IllegalArgumentException("unexpected end");
            }
            return this.text.charAt(this.position);
        }

        char next() {
            char c = peek();
            this.position++;
            return c;
        }

        void expect(char expected) {
            if (next() != expected) {
                throw new IllegalArgumentException("expected '" + expected + "' at " + (this.position - 1));
            }
        }

        void skipSpace() {
            while (this.position < this.text.length() && " \t\r\n".indexOf(this.text.charAt(this.position)) >= 0) {
                this.position++;
            }
        }

        String string() {
            expect('"');
            StringBuilder out = new StringBuilder();
            while (true) {
                char c = next();
                if (c == '"') {
                    return out.toString();
                }
                if (c != '\\') {
                    out.append(c);
                    continue;
                }
                char escaped = next();
                switch (escaped) {
                    case '"', '\\', '/' -> out.append(escaped);
                    case 'n' -> out.append('\n');
                    case 'r' -> out.append('\r');
                    case 't' -> out.append('\t');
                    case 'b' -> out.append('\b');
                    case 'f' -> out.append('\f');
                    case 'u' -> {
                        if (this.position + 4 > this.text.length()) {
                            throw new IllegalArgumentException("unexpected end");
                        }
                        out.append((char) Integer.parseInt(this.text.substring(this.position, this.position + 4), 16));
                        this.position += 4;
                    }
                    default -> throw new IllegalArgumentException("bad escape at " + (this.position - 1));
                }
            }
        }
    }
}
