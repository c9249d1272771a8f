package dev.standin.agent;

/** The version standin reports: the jar's Implementation-Version, or a marker for a development build. */
public final class Version {

    private Version() {}

    public static String text() {
        String version = Version.class.getPackage().getImplementationVersion();
        return "standin " + (version != null ? version : "(development build)");
    }

    /**
     * The version and when the code it runs was written to disk (the jar, or the class directory
     * of a development build): two processes with the same build run the same code, even after a
     * package upgrade replaced the jar under one of them.
     */
    public static String build() {
        String built;
        try {
            java.nio.file.Path code = java.nio.file.Path.of(
                    Version.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            built = java.nio.file.Files.getLastModifiedTime(code).toString();
        } catch (Exception e) {
            built = "unknown";
        }
        return text() + " built " + built;
    }
}
