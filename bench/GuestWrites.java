import dev.standin.snapshot.qemu.QmpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.SplittableRandom;

/**
 * Writes COUNT chunks of CHUNK bytes at random CHUNK-aligned offsets of a running QEMU's drive, as
 * the guest would (HMP qemu-io through the device), then flushes. Run with the standin jar on the
 * class path: java -cp agent/target/standin.jar bench/GuestWrites.java QMP_SOCKET DISK_BYTES COUNT CHUNK SEED
 */
public final class GuestWrites {
    public static void main(String[] args) throws Exception {
        Path socket = Path.of(args[0]);
        long disk = Long.parseLong(args[1]);
        int count = Integer.parseInt(args[2]);
        int chunk = Integer.parseInt(args[3]);
        SplittableRandom random = new SplittableRandom(Long.parseLong(args[4]));
        try (QmpClient qmp = QmpClient.connect(socket, Duration.ofSeconds(30))) {
            java.util.BitSet used = new java.util.BitSet();
            for (int i = 0; i < count; i++) {
                int slot;
                do {
                    slot = random.nextInt((int) (disk / chunk));
                } while (used.get(slot));
                used.set(slot);
                String out = qmp.human("qemu-io -d vd0/virtio-backend \"write -P " + (1 + random.nextInt(254)) + " "
                        + (long) slot * chunk + " " + chunk + "\"");
                if (!out.isBlank()) {
                    throw new IllegalStateException("qemu-io: " + out);
                }
            }
            qmp.human("qemu-io -d vd0/virtio-backend flush");
        }
    }
}
