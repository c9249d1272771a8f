package dev.standin.agent.transport;

import java.util.Optional;

/**
 * A replica on another host, as the user writes it: {@code [user@]host:path} (rsync's and scp's
 * form: a colon before any slash) or {@code ssh://[user@]host[:port]/path}. {@code port} 0 and an
 * empty user mean "whatever ~/.ssh/config or ssh's defaults say".
 */
public record RemoteLocation(String user, String host, int port, String path) {

    public RemoteLocation {
        if (host.isEmpty()) {
            throw new IllegalArgumentException("empty host name");
        }
        if (path.isEmpty()) {
            throw new IllegalArgumentException("no path after the host name");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " out of range");
        }
    }

    /** Empty for a local path; throws IllegalArgumentException for a remote form that is malformed. */
    public static Optional<RemoteLocation> parse(String text) {
        if (text.startsWith("ssh://")) {
            String rest = text.substring("ssh://".length());
            int slash = rest.indexOf('/');
            if (slash < 0) {
                throw new IllegalArgumentException(text + ": no path after the host name");
            }
            String authority = rest.substring(0, slash);
            String path = rest.substring(slash);
            String user = "";
            int at = authority.lastIndexOf('@');
            if (at >= 0) {
                user = authority.substring(0, at);
                authority = authority.substring(at + 1);
            }
            int port = 0;
            int colon = authority.lastIndexOf(':');
            if (colon >= 0 && colon > authority.lastIndexOf(']')) {
                try {
                    port = Integer.parseInt(authority.substring(colon + 1));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(text + ": port is not a number");
                }
                authority = authority.substring(0, colon);
            }
            return Optional.of(new RemoteLocation(user, stripBrackets(authority), port, path));
        }
        int colon = hostColon(text);
        if (colon < 0) {
            return Optional.empty();
        }
        String authority = text.substring(0, colon);
        String user = "";
        int at = authority.lastIndexOf('@');
        if (at >= 0) {
            user = authority.substring(0, at);
            authority = authority.substring(at + 1);
        }
        return Optional.of(new RemoteLocation(user, stripBrackets(authority), 0, text.substring(colon + 1)));
    }

    /** The colon that ends a host name, as rsync decides: the first one, if no slash comes before it. */
    private static int hostColon(String text) {
        int start = 0;
        int bracket = text.indexOf('[');
        if (bracket >= 0 && bracket < text.indexOf(':') + 1) {
            start = text.indexOf(']', bracket); // [::1]:path
            if (start < 0) {
                return -1;
            }
        }
        int colon = text.indexOf(':', start);
        int slash = text.indexOf('/');
        if (colon <= 0 || (slash >= 0 && slash < colon)) {
            return -1;
        }
        return colon;
    }

    private static String stripBrackets(String host) {
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    /** The directory the receiver is confined to for this replica, and the replica's name inside it. */
    public String directory() {
        int slash = path.lastIndexOf('/');
        if (slash < 0) {
            return ".";
        }
        return slash == 0 ? "/" : path.substring(0, slash);
    }

    public String name() {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    @Override
    public String toString() {
        return (user.isEmpty() ? "" : user + "@") + host + (port == 0 ? "" : ":" + port) + ":" + path;
    }
}
