package dev.standin.agent;

/** The version standin reports: the jar's Implementation-Version, or a marker for a development build. */
public final class Version {

    private Version() {}

    public static String text() {
        String version = Version.class.getPackage().getImplementationVersion();
        return "standin " + (version != null ? version : "(development build)");
    }
}
