package dev.standin.agent.pairing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.Images;
import dev.standin.agent.OpenSshServer;
import dev.standin.agent.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code standin pair} against a real sshd on 127.0.0.1, whose one authorized_keys file holds
 * the administrator's key: standin's own key made, the host key pinned only as confirmed, the
 * restricted key installed beside the administrator's, the channel proved, and a real cycle over it.
 */
class PairIT {

    @TempDir
    Path dir;

    private OpenSshServer sshd;
    private Path standinSsh;
    private Path root;

    @BeforeEach
    void startSshd() throws Exception {
        sshd = OpenSshServer.start(dir.resolve("sshd"), null);
        standinSsh = dir.resolve("etc-standin-ssh");
        root = dir.resolve("replicas");
    }

    @AfterEach
    void stopSshd() throws Exception {
        OpenSshServer.awaitReceiversEnded(root);
        sshd.close();
    }

    @Test
    void pairsOnceProvesTheChannelAndASecondRunChangesNothing() throws Exception {
        String fingerprint = hostFingerprint();
        Result first = pair("--accept-fingerprint", fingerprint);
        assertEquals(0, first.exit, first.err);
        assertTrue(first.out.contains("standin: key " + standinSsh.resolve("id_ed25519") + ": made (ed25519"), first.out);
        assertTrue(first.out.contains("pinned in " + standinSsh.resolve("known_hosts") + " (ssh-ed25519 " + fingerprint),
                first.out);
        assertTrue(first.out.contains("key installed on 127.0.0.1"), first.out);
        assertTrue(first.out.contains("standin: proved: 127.0.0.1 runs standin"), first.out);
        assertTrue(first.out.contains("dest: ssh://" + user() + "@127.0.0.1:" + sshd.port() + root + "/VM/"), first.out);

        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(standinSsh.resolve("id_ed25519"))));
        assertEquals("[127.0.0.1]:" + sshd.port() + " " + Files.readString(sshd.hostKey()).strip().replaceFirst(" [^ ]*$", "")
                + "\n", Files.readString(standinSsh.resolve("known_hosts")));
        List<String> authorized = Files.readAllLines(sshd.authorizedKeys());
        assertEquals(2, authorized.size(), "the administrator's key and standin's: " + authorized);
        String standinKey = Files.readString(standinSsh.resolve("id_ed25519.pub")).strip();
        assertEquals("command=\"" + sshd.launcher() + " serve --root '" + root + "'\",restrict " + standinKey,
                authorized.get(1));
        assertTrue(Files.isDirectory(root), "the root is made");

        // A real cycle with what pairing made, as standin.yaml's identity and known-hosts name it.
        Path disk = Images.create(dir.resolve("disk.img"), 8 << 20, 1);
        Result sync = run("sync", disk.toString(), "ssh://" + user() + "@127.0.0.1:" + sshd.port() + root + "/disk.img",
                "-i", standinSsh.resolve("id_ed25519").toString(), "--known-hosts", standinSsh.resolve("known_hosts").toString(),
                "--ssh-config", "none", "--remote-standin", sshd.launcher().toString());
        assertEquals(0, sync.exit, sync.err);
        assertEquals(Images.sha256(disk), Images.sha256(root.resolve("disk.img")));
        // The key runs serve, whatever it asks for.
        String shell = output("ssh", "-F", "/dev/null", "-i", standinSsh.resolve("id_ed25519").toString(),
                "-o", "UserKnownHostsFile=" + standinSsh.resolve("known_hosts"), "-o", "BatchMode=yes",
                "-p", Integer.toString(sshd.port()), user() + "@127.0.0.1", "cat /etc/passwd");
        assertFalse(shell.contains("root:x:0:0"), "the restricted key opened a shell: " + shell);
        assertTrue(shell.contains("this key may only run 'standin serve'; it asked for: cat /etc/passwd"), shell);

        byte[] knownHosts = Files.readAllBytes(standinSsh.resolve("known_hosts"));
        byte[] keys = Files.readAllBytes(sshd.authorizedKeys());
        byte[] key = Files.readAllBytes(standinSsh.resolve("id_ed25519"));
        Result again = pair();
        assertEquals(0, again.exit, again.err);
        assertTrue(again.out.contains(": kept"), again.out);
        assertTrue(again.out.contains("already pinned"), again.out);
        assertTrue(again.out.contains("already installed"), again.out);
        assertArrayEquals(knownHosts, Files.readAllBytes(standinSsh.resolve("known_hosts")));
        assertArrayEquals(keys, Files.readAllBytes(sshd.authorizedKeys()));
        assertArrayEquals(key, Files.readAllBytes(standinSsh.resolve("id_ed25519")));
    }

    @Test
    void aHostKeyNobodyConfirmedIsNeitherPinnedNorTrusted() throws Exception {
        byte[] keys = Files.readAllBytes(sshd.authorizedKeys());
        Result unconfirmed = pair();
        assertEquals(2, unconfirmed.exit, unconfirmed.err);
        assertEquals("standin: 127.0.0.1 offers host key ssh-ed25519 " + hostFingerprint() + "; standin pins a host key "
                + "only when a person confirms it: check it on 127.0.0.1 with: ssh-keygen -lf "
                + "/etc/ssh/ssh_host_ed25519_key.pub, then run again with --accept-fingerprint " + hostFingerprint(),
                unconfirmed.err.strip());
        assertFalse(Files.exists(standinSsh.resolve("known_hosts")));
        assertArrayEquals(keys, Files.readAllBytes(sshd.authorizedKeys()), "nothing installed");

        Result wrong = pair("--accept-fingerprint", "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU");
        assertEquals(4, wrong.exit, wrong.err);
        assertTrue(wrong.err.contains("none of them SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU; not pinned"),
                wrong.err);
        assertFalse(Files.exists(standinSsh.resolve("known_hosts")));
        assertArrayEquals(keys, Files.readAllBytes(sshd.authorizedKeys()), "nothing installed");
    }

    /** The person at a terminal (a pty from script(1)) is asked, and only a yes pins the key. */
    @Test
    void aPersonAtTheTerminalIsAskedAndOnlyYesPins() throws Exception {
        byte[] keys = Files.readAllBytes(sshd.authorizedKeys());
        Result no = atTerminal("no");
        assertEquals(2, no.exit, no.out);
        assertTrue(no.out.contains("127.0.0.1 offers host key ssh-ed25519 " + hostFingerprint() + "; check it on 127.0.0.1 "
                + "with: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub. Pin it for standin? [yes/no]"), no.out);
        assertTrue(no.out.contains("host key of 127.0.0.1 not confirmed; nothing pinned, nothing installed"), no.out);
        assertFalse(Files.exists(standinSsh.resolve("known_hosts")));
        assertArrayEquals(keys, Files.readAllBytes(sshd.authorizedKeys()));

        Result yes = atTerminal("yes");
        assertEquals(0, yes.exit, yes.out);
        assertTrue(yes.out.contains("pinned in " + standinSsh.resolve("known_hosts") + " (ssh-ed25519 " + hostFingerprint()),
                yes.out);
        assertTrue(yes.out.contains("standin: proved: 127.0.0.1 runs standin"), yes.out);
    }

    /** pair in its own JVM on a pseudo-terminal, answering {@code answer} to its question. */
    private Result atTerminal(String answer) throws Exception {
        List<String> command = new ArrayList<>(dev.standin.agent.Cli.javaCommand("256m"));
        command.addAll(pairArgs());
        String line = String.join(" ", command.stream().map(w -> "'" + w.replace("'", "'\\''") + "'").toList());
        Process p = new ProcessBuilder("script", "-q", "-e", "-c", line, "/dev/null").redirectErrorStream(true).start();
        p.getOutputStream().write((answer + "\n").getBytes());
        p.getOutputStream().flush();
        String out = new String(p.getInputStream().readAllBytes()).replace("\r", "");
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "pair ended");
        return new Result(p.exitValue(), out, out);
    }

    @Test
    void aChangedHostKeyIsRefused() throws Exception {
        Path other = dir.resolve("other_host_key");
        Images.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other.toString());
        Files.createDirectories(standinSsh);
        String pinned = "[127.0.0.1]:" + sshd.port() + " " + Files.readString(Path.of(other + ".pub")).strip() + "\n";
        Files.writeString(standinSsh.resolve("known_hosts"), pinned);
        byte[] keys = Files.readAllBytes(sshd.authorizedKeys());
        Result changed = pair("--accept-fingerprint", hostFingerprint());
        assertEquals(4, changed.exit, changed.err);
        assertTrue(changed.err.startsWith("standin: the host key of 127.0.0.1 changed: " + standinSsh.resolve("known_hosts")
                + " pins ssh-ed25519 SHA256:"), changed.err);
        assertTrue(changed.err.contains("it now offers ssh-ed25519 " + hostFingerprint()), changed.err);
        assertEquals(pinned, Files.readString(standinSsh.resolve("known_hosts")));
        assertArrayEquals(keys, Files.readAllBytes(sshd.authorizedKeys()), "nothing installed");
    }

    /**
     * {@code --as USER}: the script pair runs on the replica host, run here as root with a
     * throwaway account (the whole pair cannot: the test's standin runs from root's Maven
     * repository, which another account cannot read). The account is made, owns the root and
     * its authorized_keys; a second run changes nothing; the account is removed after.
     */
    @Test
    void theKeyIsInstalledForADedicatedAccountMadeForIt() throws Exception {
        String account = "standin-pair-it";
        assertTrue(output("id", account).contains("no such user"), "the test's account exists already");
        try {
            String line = "command=\"standin serve --root '" + root + "'\",restrict ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEx"
                    + " standin@test";
            String script = new String(Pairing.class.getResourceAsStream("install-key.sh").readAllBytes());
            List<String> command = List.of("sh", "-c", script, "standin-pair", root.toString(), line, account,
                    "AAAAC3NzaC1lZDI1NTE5AAAAIEx", "");
            assertEquals("installed\n", output(command.toArray(String[]::new)));
            String home = output("getent", "passwd", account).split(":")[5];
            Path keys = Path.of(home, ".ssh", "authorized_keys");
            assertEquals(List.of(line), Files.readAllLines(keys));
            assertEquals(account, Files.getOwner(keys).getName());
            assertEquals(account, Files.getOwner(root).getName());
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keys)));
            assertEquals("unchanged\n", output(command.toArray(String[]::new)));
        } finally {
            output("userdel", "-r", account);
        }
    }

    private Result pair(String... more) {
        List<String> args = pairArgs();
        args.addAll(List.of(more));
        return run(args.toArray(String[]::new));
    }

    private List<String> pairArgs() {
        return new ArrayList<>(List.of("pair", user() + "@127.0.0.1", "-p", Integer.toString(sshd.port()),
                "--root", root.toString(), "--ssh-dir", standinSsh.toString(),
                "--remote-standin", sshd.launcher().toString(), "--authorized-keys", sshd.authorizedKeys().toString(),
                "-e", "ssh -F /dev/null -i " + sshd.clientKey() + " -o UserKnownHostsFile=" + sshd.knownHosts()
                        + " -o StrictHostKeyChecking=yes -o BatchMode=yes"));
    }

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Result(exit, out.toString(), err.toString());
    }

    /** What a command printed, whatever its exit status; its stdin is empty. */
    private static String output(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), String.join(" ", command) + " ended");
        return out;
    }

    private String hostFingerprint() throws Exception {
        return Images.run("ssh-keygen", "-l", "-E", "sha256", "-f", sshd.hostKey().toString()).split(" ")[1];
    }

    private static String user() {
        return System.getProperty("user.name");
    }

    private record Result(int exit, String out, String err) {}
}
