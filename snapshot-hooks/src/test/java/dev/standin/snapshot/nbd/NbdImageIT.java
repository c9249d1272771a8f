package dev.standin.snapshot.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.nativeio.Extent;
import dev.standin.snapshot.CommandRunner;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client against a real NBD server, {@code qemu-nbd}, serving a qcow2 image that has data, a
 * zeroed range and unallocated space, and a persistent dirty bitmap: what it reads must equal
 * what {@code qemu-img convert} makes of the image.
 */
class NbdImageIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(20);
    private static final long MIB = 1 << 20;

    @TempDir
    Path directory;
    private Path image;
    private final CommandRunner runner = new CommandRunner();

    @BeforeEach
    void image() throws Exception {
        image = directory.resolve("disk.qcow2");
        run("qemu-img", "create", "-q", "-f", "qcow2", image.toString(), "64M");
        run("qemu-io", "-c", "write -P 0x11 0 3M", image.toString());
        run("qemu-img", "bitmap", "--add", image.toString(), "since");
        run("qemu-io", "-c", "write -P 0xaa 1M 64k", "-c", "write -z 2M 1M", "-c", "write -P 0x5c 40M 1536k",
                image.toString());
    }

    private void run(String... command) throws Exception {
        CommandRunner.Result result = runner.run(List.of(command), TIMEOUT);
        assertTrue(result.ok(), result.describe());
    }

    private byte[] raw() throws Exception {
        Path raw = directory.resolve("disk.raw");
        run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", image.toString(), raw.toString());
        return Files.readAllBytes(raw);
    }

    @Test
    void readsTheGuestVisibleDiskFromSeveralThreadsAndSkipsItsZeros() throws Exception {
        byte[] expected = raw();
        try (QemuNbd server = QemuNbd.serve(image, "qcow2", "disk", null);
                NbdImage nbd = NbdImage.open(server.export, 4, TIMEOUT)) {
            assertEquals(64 * MIB, nbd.size());
            assertEquals(List.of(new Extent(0, 2 * MIB), new Extent(3 * MIB, 0), new Extent(40 * MIB, 1536 << 10)).stream()
                    .filter(e -> e.length() > 0).toList(), nbd.dataExtents(0, nbd.size()));
            assertEquals(List.of(new Extent(MIB + 4096, MIB - 4096)), nbd.dataExtents(MIB + 4096, 2 * MIB + 4096));
            assertEquals(List.of(), nbd.dataExtents(2 * MIB, 3 * MIB));

            byte[] actual = new byte[expected.length];
            ExecutorService threads = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> reads = new ArrayList<>();
                for (long offset = 0; offset < nbd.size(); offset += 4 * MIB) {
                    long at = offset;
                    reads.add(threads.submit(() -> {
                        ByteBuffer buffer = ByteBuffer.allocateDirect((int) (4 * MIB));
                        nbd.readFully(at, buffer);
                        buffer.flip().get(actual, (int) at, buffer.remaining());
                        return null;
                    }));
                }
                for (Future<?> read : reads) {
                    read.get();
                }
            } finally {
                threads.shutdownNow();
            }
            assertArrayEquals(expected, actual);
            // A read larger than QEMU's 32 MiB request limit is split.
            ByteBuffer whole = ByteBuffer.allocate((int) nbd.size());
            nbd.readFully(0, whole);
            assertArrayEquals(expected, whole.array());
        }
    }

    @Test
    void aDirtyBitmapGivesTheExtentsWrittenSinceItBegan() throws Exception {
        try (QemuNbd server = QemuNbd.serve(image, "qcow2", "disk", "since")) {
            assertEquals(List.of(new Extent(MIB, 64 << 10), new Extent(2 * MIB, MIB), new Extent(40 * MIB, 1536 << 10)),
                    NbdImage.dirtyExtents(server.export, "since", TIMEOUT));
        }
    }

    @Test
    void aMissingExportOrBitmapIsNamedInOneLine() throws Exception {
        try (QemuNbd server = QemuNbd.serve(image, "qcow2", "disk", null)) {
            NbdException noExport = assertThrows(NbdException.class,
                    () -> NbdImage.open(new NbdExport(server.export.socket(), "other"), 1, TIMEOUT));
            assertTrue(noExport.getMessage().contains("no such export (export 'other' not present)"), noExport.getMessage());
            assertFalse(noExport.getMessage().contains("\n"));
            NbdException noBitmap = assertThrows(NbdException.class,
                    () -> NbdImage.dirtyExtents(server.export, "none", TIMEOUT));
            assertTrue(noBitmap.getMessage().endsWith("the export offers no metadata context 'qemu:dirty-bitmap:none'"),
                    noBitmap.getMessage());
        }
        NbdExport gone = new NbdExport(directory.resolve("disk.sock"), "disk");
        assertThrows(java.io.IOException.class, () -> NbdImage.open(gone, 1, TIMEOUT));
    }

    @Test
    void aServerThatDiesOrHangsFailsTheReadInsteadOfHoldingIt() throws Exception {
        try (QemuNbd server = QemuNbd.serve(image, "qcow2", "disk", null);
                NbdImage nbd = NbdImage.open(server.export, 2, Duration.ofSeconds(2))) {
            server.signal("STOP");
            NbdException hung = assertThrows(NbdException.class, () -> nbd.readFully(0, ByteBuffer.allocate(4096)));
            assertTrue(hung.getMessage().contains("no answer from the NBD server in 2 s"), hung.getMessage());
            server.signal("CONT");
            nbd.readFully(0, ByteBuffer.allocate(4096)); // the hung connection was dropped, a fresh one works
            server.kill();
            assertThrows(java.io.IOException.class, () -> nbd.readFully(0, ByteBuffer.allocate((int) MIB)));
        }
    }
}
