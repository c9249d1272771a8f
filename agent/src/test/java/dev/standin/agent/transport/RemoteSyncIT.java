package dev.standin.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.agent.OpenSshServer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** standin sync to a replica on another host, through a real OpenSSH sshd on 127.0.0.1. */
class RemoteSyncIT {

    @TempDir
    static Path shared;

    static OpenSshServer sshd;

    @TempDir
    Path dir;

    @BeforeAll
    static void startSshd() throws Exception {
        sshd = OpenSshServer.start(shared.resolve("sshd"), null);
    }

    @AfterAll
    static void stopSshd() throws Exception {
        sshd.close();
    }

    private Cli.Result sync(Path source, String destination, String... extra) {
        List<String> args = new ArrayList<>(List.of("sync", source.toString(), destination, "--json",
                "--state-dir", dir.resolve("state").toString()));
        args.addAll(sshd.sshArgs());
        args.addAll(List.of(extra));
        return Cli.run(args.toArray(String[]::new));
    }

    @Test
    void firstCopyThenIncrementalUsesTheSenderCache() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 24 << 20, 1);
        Path replica = dir.resolve("replica.img");
        Cli.Result first = sync(source, sshd.url(replica));
        assertEquals(0, first.exit(), first.err());
        assertEquals(Images.sha256(source), Images.sha256(replica));
        assertTrue(first.json().get("firstCopy").asBoolean());

        long changed = Images.overwriteBlocks(source, 20, 4096, 7);
        Cli.Result second = sync(source, sshd.url(replica));
        assertEquals(0, second.exit(), second.err());
        JsonNode stats = second.json();
        assertEquals(Images.sha256(source), Images.sha256(replica));
        assertEquals("sender-cache", stats.get("signatures").asText());
        assertEquals(0, stats.get("replicaBytesRead").asLong());
        assertTrue(stats.get("literalBytes").asLong() <= changed, stats.toString());
        assertTrue(stats.get("wireBytes").asLong() > 0);
    }
}
