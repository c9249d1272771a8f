package dev.standin.agent.transport;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.standin.agent.Version;
import java.util.List;

/** The standin protocol's version and capabilities (docs/protocol.md), spoken by both ends. */
final class Protocol {

    static final int VERSION = 4;

    /**
     * When both Hellos list it, the sender derives the replica's new signatures from what it read
     * and the receiver sends none back after its commit (12 bytes a block: 12 MiB of a 4 GiB first copy).
     */
    static final String SENDER_SIGNATURES = "sender-signatures";

    /** The receiver records VM points (RecordVmPoint); an older one keeps only the disks' points. */
    static final String VM_POINTS = "vm-points";

    /** The receiver starts a VM point to check that it boots (CheckBoot). */
    static final String BOOT_CHECK = "boot-check";

    /** The receiver starts a VM point for real, as a planned move's last step (StartVm). */
    static final String FAILOVER = "failover";

    static final List<String> CAPABILITIES = List.of("lz4", "zstd", "zstd-stream", "signature-diff",
            SENDER_SIGNATURES, VM_POINTS, BOOT_CHECK, FAILOVER);

    /** The ScrubResult message carries a ScrubReport as JSON. */
    static final ObjectMapper JSON = new ObjectMapper();

    private Protocol() {}

    /** This build's Hello. */
    static Message.Hello hello() {
        return new Message.Hello(VERSION, VERSION, Version.text(), CAPABILITIES);
    }

    /** Whether a peer's Hello admits this build's version. */
    static boolean speaks(Message.Hello peer) {
        return peer.minVersion() <= VERSION && peer.maxVersion() >= VERSION;
    }
}
