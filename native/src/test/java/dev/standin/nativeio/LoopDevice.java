package dev.standin.nativeio;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

/** A loop device over a sparse image file; {@link #close()} detaches it and deletes the image. */
final class LoopDevice implements AutoCloseable {

    private final Path image;
    private final Path device;

    private LoopDevice(Path image, Path device) {
        this.image = image;
        this.device = device;
    }

    /** Creates a sparse image of {@code sizeBytes} at {@code image} and attaches it with losetup. */
    static LoopDevice create(Path image, long sizeBytes) throws IOException, InterruptedException {
        Commands.requireRoot();
        String losetup = Commands.require("losetup", "util-linux");
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.setLength(sizeBytes); // sparse: no blocks allocated until written
        }
        try {
            String device = Commands.check(losetup, "-f", "--show", image.toString()).strip();
            return new LoopDevice(image, Path.of(device));
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            Files.deleteIfExists(image);
            throw e;
        }
    }

    Path device() {
        return device;
    }

    Path image() {
        return image;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        try {
            Commands.Result result = Commands.run(Commands.require("losetup", "util-linux"), "-d", device.toString());
            if (!result.ok()) {
                throw new IOException("cannot detach " + device + ": " + result.describe());
            }
        } finally {
            Files.deleteIfExists(image);
        }
    }

    @Override
    public String toString() {
        return device + " (" + image + ")";
    }
}
