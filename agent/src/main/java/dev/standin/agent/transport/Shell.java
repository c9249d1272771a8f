package dev.standin.agent.transport;

import java.util.ArrayList;
import java.util.List;

/** POSIX shell quoting, for the command line an exec channel hands to the remote user's shell. */
final class Shell {

    private Shell() {}

    /**
     * {@code word} as one single-quoted shell word: {@code it's} becomes {@code 'it'\''s'} (the
     * snapshot hooks' quoting, so that both ends of standin quote one way).
     */
    static String quote(String word) {
        return dev.standin.snapshot.RemoteShell.quote(List.of(word));
    }

    /** Splits a command line made of plain and single-quoted words (what {@link #quote} produces). */
    static List<String> split(String line) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false;
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted) {
                if (c == '\'') {
                    quoted = false;
                } else {
                    word.append(c);
                }
            } else if (c == '\'') {
                quoted = true;
                inWord = true;
            } else if (c == '\\' && i + 1 < line.length()) {
                word.append(line.charAt(++i));
                inWord = true;
            } else if (Character.isWhitespace(c)) {
                if (inWord) {
                    words.add(word.toString());
                    word.setLength(0);
                    inWord = false;
                }
            } else {
                word.append(c);
                inWord = true;
            }
        }
        if (quoted) {
            throw new IllegalArgumentException("unterminated quote in: " + line);
        }
        if (inWord) {
            words.add(word.toString());
        }
        return words;
    }
}
