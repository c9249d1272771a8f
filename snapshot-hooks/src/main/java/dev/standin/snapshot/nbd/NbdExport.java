package dev.standin.snapshot.nbd;

import java.nio.file.Path;

/** An export of an NBD server listening on a UNIX socket. */
public record NbdExport(Path socket, String name) {

    /** The export as the NBD URI standard writes it (what {@code qemu-img} and {@code nbdinfo} accept). */
    @Override
    public String toString() {
        return "nbd+unix:///" + name + "?socket=" + socket;
    }
}
