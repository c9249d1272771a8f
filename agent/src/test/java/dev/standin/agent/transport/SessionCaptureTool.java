package dev.standin.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.standin.agent.Cli;
import dev.standin.agent.OpenSshServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Records real sender sessions for {@link ProtocolFuzzIT}: {@code standin sync} through the
 * test's OpenSSH sshd, the remote command's stdin copied by tee into
 * {@code src/test/resources/sessions/NAME.bin}. Not a test (its name matches no pattern): run
 * it after a change of the protocol or a format, and commit what it writes:
 * {@code mvn -pl agent test -Dtest=SessionCaptureTool -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class SessionCaptureTool {

    @TempDir
    Path dir;

    @Test
    void capture() throws Exception {
        Path out = Path.of("src/test/resources/sessions").toAbsolutePath();
        Files.createDirectories(out);
        try (OpenSshServer sshd = OpenSshServer.start(dir.resolve("sshd"), null)) {
            for (String codec : List.of("none", "lz4", "zstd")) {
                capture(sshd, out, "first-copy-" + codec, false, false, codec);
                capture(sshd, out, "incremental-" + codec, true, false, codec);
            }
            capture(sshd, out, "incremental-sender-cache-zstd", true, true, "zstd");
        }
    }

    private void capture(OpenSshServer sshd, Path out, String name, boolean incremental, boolean senderCache,
            String codec) throws Exception {
        Path work = Files.createDirectories(dir.resolve(name));
        Path root = Files.createDirectories(work.resolve("root"));
        Path source = work.resolve("vm.img");
        Path state = work.resolve("state");
        if (incremental) {
            Files.write(source, FuzzImages.base());
            assertEquals(0, sync(sshd, source, root, state, List.of()).exit());
            if (!senderCache) {
                deleteTree(state); // the sender forgets the replica's signatures: it asks for them
            }
        }
        Files.write(source, FuzzImages.target());
        Path captured = out.resolve(name + ".bin");
        Path tee = Files.writeString(work.resolve("tee.sh"), "#!/bin/sh\ntee " + captured + " | \""
                + sshd.launcher() + "\" \"$@\"\n");
        tee.toFile().setExecutable(true);
        Cli.Result r = sync(sshd, source, root, state, List.of("--remote-standin", tee.toString(), "--compress", codec));
        assertEquals(0, r.exit(), r.err());
        OpenSshServer.awaitReceiversEnded(root);
        System.out.printf("SessionCaptureTool: %s, %d bytes, signatures %s%n", name, Files.size(captured),
                r.json().get("signatures").asText());
    }

    private static Cli.Result sync(OpenSshServer sshd, Path source, Path root, Path state, List<String> extra) {
        List<String> args = new ArrayList<>(List.of("sync", source.toString(), sshd.url(root.resolve("vm.img")),
                "--json", "--state-dir", state.toString()));
        List<String> ssh = sshd.sshArgs();
        for (int i = 0; i < ssh.size(); i += 2) {
            if (!extra.contains(ssh.get(i))) {
                args.add(ssh.get(i));
                args.add(ssh.get(i + 1));
            }
        }
        args.addAll(extra);
        return Cli.run(args.toArray(String[]::new));
    }

    private static void deleteTree(Path p) throws java.io.IOException {
        if (Files.exists(p)) {
            try (var walk = Files.walk(p)) {
                for (Path f : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(f);
                }
            }
        }
    }
}
