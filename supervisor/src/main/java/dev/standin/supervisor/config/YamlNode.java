package dev.standin.supervisor.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A YAML document as read by Jackson's YAML parser, each node with the line it starts on, so
 * that a mistake is reported where the user made it (Jackson's own tree drops locations).
 */
sealed interface YamlNode {

    int line();

    /** A scalar's text; {@code null} (YAML's ~ or an empty value) is {@code Scalar} with isNull. */
    record Scalar(String text, boolean isNull, int line) implements YamlNode { }

    record Sequence(List<YamlNode> items, int line) implements YamlNode { }

    /** Keys in the file's order, each with its value and the key's own line. */
    record Mapping(Map<String, Entry> entries, int line) implements YamlNode { }

    record Entry(String key, int line, YamlNode value) { }

    static YamlNode read(Reader in, String file) throws ConfigException {
        try (JsonParser parser = new YAMLFactory().createParser(in)) {
            JsonToken first = parser.nextToken();
            if (first == null) {
                return new Mapping(Map.of(), 1);
            }
            YamlNode root = read(parser, file);
            if (parser.nextToken() != null) {
                throw new ConfigException(file, parser.currentTokenLocation().getLineNr(), "more than one YAML document");
            }
            return root;
        } catch (IOException e) {
            int line = e instanceof com.fasterxml.jackson.core.JsonProcessingException j && j.getLocation() != null
                    ? j.getLocation().getLineNr() : 0;
            String reason = e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage()
                    : e.getMessage();
            throw new ConfigException(file, line, "not valid YAML: " + firstLine(reason));
        }
    }

    private static YamlNode read(JsonParser parser, String file) throws IOException, ConfigException {
        int line = parser.currentTokenLocation().getLineNr();
        JsonToken token = parser.currentToken();
        switch (token) {
            case START_OBJECT: {
                Map<String, Entry> entries = new LinkedHashMap<>();
                while (parser.nextToken() == JsonToken.FIELD_NAME) {
                    String key = parser.currentName();
                    int keyLine = parser.currentTokenLocation().getLineNr();
                    parser.nextToken();
                    YamlNode value = read(parser, file);
                    if (entries.putIfAbsent(key, new Entry(key, keyLine, value)) != null) {
                        throw new ConfigException(file, keyLine, "'" + key + "' is given twice (first on line "
                                + entries.get(key).line() + ")");
                    }
                }
                return new Mapping(entries, line);
            }
            case START_ARRAY: {
                List<YamlNode> items = new ArrayList<>();
                while (parser.nextToken() != JsonToken.END_ARRAY) {
                    items.add(read(parser, file));
                }
                return new Sequence(items, line);
            }
            case VALUE_NULL:
                return new Scalar("", true, line);
            default:
                return new Scalar(parser.getText(), false, line);
        }
    }

    private static String firstLine(String text) {
        if (text == null) {
            return "unreadable";
        }
        int newline = text.indexOf('\n');
        return newline < 0 ? text : text.substring(0, newline);
    }
}
