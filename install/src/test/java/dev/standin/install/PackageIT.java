package dev.standin.install;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The .deb as a sysadmin meets it: installed with apt into a clean Debian 12 root (dependencies
 * resolved by apt from Debian's archive), run there, upgraded over a changed configuration, and
 * purged. The .rpm is compared with it file for file; lintian judges the .deb.
 */
@Tag("root")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PackageIT {

    static final Path DEB = Path.of(System.getProperty("standin.deb", "target/standin.deb"));
    static final Path RPM = Path.of(System.getProperty("standin.rpm", "target/standin.rpm"));

    @TempDir
    static Path work;

    static DebianRoot root;

    @BeforeAll
    static void unpackACleanRoot() throws Exception {
        assertTrue(Files.isRegularFile(DEB), DEB + " was not built");
        root = DebianRoot.unpack(Files.createDirectories(work.resolve("root")));
        Files.copy(DEB, root.path("/tmp/standin.deb"));
    }

    @Test
    @Order(1)
    void aptInstallsItWithItsDependenciesAndStartsNothingWithoutSystemd() throws Exception {
        // A host as Debian 12 installs one (minbase has none of these): systemd (installed, not
        // running, as in a chroot), man-db and bash-completion. Without recommends: they are not needed here.
        String output = root.ok("apt-get -q install -y --no-install-recommends systemd man-db bash-completion "
                + "/tmp/standin.deb");
        assertTrue(output.contains("Setting up standin (" + version() + ")"), output);
        for (String dependency : List.of("default-jre-headless", "openssh-client", "libxxhash0")) {
            assertTrue(root.ok("dpkg-query -W -f='${Status}' " + dependency).contains("install ok installed"),
                    dependency + " installed by apt");
        }
        assertEquals("/etc/standin/standin.yaml", root.ok("dpkg-query -W -f='${Conffiles}' standin").trim().split(" ")[0]);
        assertEquals("700", root.ok("stat -c %a /var/lib/standin").trim());
        assertTrue(Files.isSymbolicLink(root.path("/etc/systemd/system/multi-user.target.wants/standin-agent.service")),
                "enabled at install, for the next boot");
    }

    @Test
    @Order(2)
    void itRunsWithItsManPagesCompletionAndShippedConfiguration() throws Exception {
        String version = root.ok("standin --version");
        assertTrue(version.startsWith("standin " + version()), version);
        assertTrue(version.contains("block hash: XXH3-64 by libxxhash"), "libxxhash0 found: " + version);
        assertEquals("/usr/share/man/man1/standin.1.gz", root.ok("man -w standin").trim());
        assertEquals("/usr/share/man/man1/standin-sync.1.gz", root.ok("man -w standin-sync").trim());
        assertEquals("/usr/share/man/man5/standin.yaml.5.gz", root.ok("man -w 5 standin.yaml").trim());
        String page = root.ok("MANWIDTH=100 man standin-sync 2>/dev/null");
        assertTrue(page.contains("--bwlimit"), "the page has the command's options:\n" + page);
        String completed = root.ok("bash -c '. /usr/share/bash-completion/completions/standin; "
                + "COMP_WORDS=(standin che); COMP_CWORD=1; COMP_LINE=\"standin che\"; COMP_POINT=11; "
                + "_complete_standin; echo ${COMPREPLY[@]}'");
        assertEquals("check-config", completed.trim());
        String check = root.ok("standin check-config");
        assertTrue(check.contains("/etc/standin/standin.yaml: OK: 0 VMs"), check);
        String doctor = root.ok("standin doctor");
        assertTrue(doctor.contains("ok       libxxhash: ") && doctor.contains("note     agent: not running"), doctor);
        assertTrue(doctor.endsWith("standin doctor: everything the configuration uses is here\n"), doctor);
    }

    @Test
    @Order(3)
    void theUnitIsCleanForSystemdAnalyze() throws Exception {
        // Inside the root: verify also runs man for each Documentation= page.
        DebianRoot.Result verify = root.sh("systemd-analyze verify /lib/systemd/system/standin-agent.service");
        assertEquals(0, verify.exit(), verify.output());
        assertEquals("", verify.output().trim(), "no warnings");
    }

    @Test
    @Order(4)
    void anUpgradeKeepsAChangedConfiguration() throws Exception {
        root.ok("sed -i 's/^max-parallel: 2 /max-parallel: 3 /' /etc/standin/standin.yaml");
        Path newer = newerBuild();
        Files.copy(newer, root.path("/tmp/standin-newer.deb"));
        String output = root.ok("apt-get -q install -y --no-install-recommends /tmp/standin-newer.deb");
        assertTrue(output.contains("Unpacking standin (" + version() + "+1) over (" + version() + ")"), output);
        assertTrue(Files.readString(root.path("/etc/standin/standin.yaml")).contains("max-parallel: 3 "),
                "the administrator's change survives the upgrade");
        assertTrue(root.ok("standin --version").startsWith("standin "));
    }

    @Test
    @Order(5)
    void purgeLeavesNothingOfStandin() throws Exception {
        root.ok("apt-get -q purge -y standin");
        assertFalse(Files.exists(root.path("/etc/standin")));
        assertFalse(Files.exists(root.path("/var/lib/standin")));
        Set<String> left;
        try (Stream<Path> all = Files.walk(root.dir())) {
            left = all.map(p -> "/" + root.dir().relativize(p))
                    .filter(p -> p.contains("standin"))
                    // The test's own files, logs, and man-db's cache of pages the test formatted (man-db's, cleaned by its cron job).
                    .filter(p -> !p.startsWith("/tmp/") && !p.startsWith("/var/log/") && !p.startsWith("/proc/")
                            && !p.startsWith("/var/cache/man/"))
                    .collect(Collectors.toCollection(TreeSet::new));
        }
        assertEquals(Set.of(), left, "files of standin left after purge");
    }

    @Test
    void theRpmHoldsWhatTheDebHoldsAndDeclaresItsDependencies() throws Exception {
        assertTrue(Files.isRegularFile(RPM), RPM + " was not built");
        Set<String> deb = debFiles();
        Set<String> rpm = lines(DebianRoot.run(List.of("rpm", "-qpl", RPM.toString()), 60), "")
                .stream().filter(f -> !f.equals("/var/lib/standin")).collect(Collectors.toCollection(TreeSet::new));
        Set<String> expected = deb.stream().map(f -> f.replace("/lib/systemd/", "/usr/lib/systemd/"))
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(expected, rpm);
        Set<String> requires = lines(DebianRoot.run(List.of("rpm", "-qpR", RPM.toString()), 60), "rpmlib(");
        assertTrue(requires.containsAll(Set.of("java-headless >= 1:17", "openssh-clients", "xxhash-libs")),
                requires.toString());
        assertEquals(Set.of("/etc/standin/standin.yaml"), lines(DebianRoot.run(List.of("rpm", "-qpc", RPM.toString()), 60), ""));
    }

    @Test
    void lintianFindsNoErrors() throws Exception {
        DebianRoot.Result lint = DebianRoot.run(List.of("lintian", "--allow-root", DEB.toString()), 300);
        List<String> errors = Arrays.stream(lint.output().split("\n")).filter(l -> l.startsWith("E:")).toList();
        assertEquals(List.of(), errors, lint.output());
    }

    /** The package's regular files and links, without directories. */
    private static Set<String> debFiles() throws Exception {
        DebianRoot.Result listing = DebianRoot.run(List.of("dpkg-deb", "-c", DEB.toString()), 60);
        assertEquals(0, listing.exit(), listing.output());
        return Arrays.stream(listing.output().split("\n"))
                .filter(l -> !l.startsWith("d"))
                .map(l -> l.substring(l.indexOf("./") + 1))
                .collect(Collectors.toCollection(TreeSet::new));
    }

    private static Set<String> lines(DebianRoot.Result result, String dropPrefix) {
        assertEquals(0, result.exit(), result.output());
        return Arrays.stream(result.output().split("\n")).map(String::strip).filter(l -> !l.isEmpty())
                .filter(l -> dropPrefix.isEmpty() || !l.startsWith(dropPrefix))
                .collect(Collectors.toCollection(TreeSet::new));
    }

    /** The same package as version VERSION+1: what an upgrade to the next build installs. */
    private static Path newerBuild() throws Exception {
        Path tree = work.resolve("newer");
        assertEquals(0, DebianRoot.run(List.of("dpkg-deb", "-R", DEB.toString(), tree.toString()), 120).exit());
        Path control = tree.resolve("DEBIAN/control");
        Files.writeString(control, Files.readString(control).replaceFirst("(?m)^Version: .*$",
                "Version: " + version() + "+1"));
        Path newer = work.resolve("standin-newer.deb");
        DebianRoot.Result build = DebianRoot.run(List.of("dpkg-deb", "--root-owner-group", "-b", tree.toString(),
                newer.toString()), 120);
        assertEquals(0, build.exit(), build.output());
        return newer;
    }

    private static String version() {
        return System.getProperty("standin.version", "0.1.0");
    }
}
