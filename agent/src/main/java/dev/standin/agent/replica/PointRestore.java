package dev.standin.agent.replica;

import dev.standin.delta.ImageDigest;
import dev.standin.delta.SignatureBuilder;
import dev.standin.delta.Signatures;
import dev.standin.delta.ZeroBlocks;
import dev.standin.nativeio.Extent;
import dev.standin.nativeio.NativeException;
import dev.standin.nativeio.NativeFile;
import dev.standin.nativeio.NativeIo;
import dev.standin.nativeio.UnsupportedOperationIOException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Materialises a recovery point ({@code standin restore}) into a new or existing file, through a
 * temporary file that is synced and renamed into place, or in place onto a block device. The
 * result is checked against the point's image digest before it is renamed; undo files are checked
 * (every CRC) before anything is written.
 */
public final class PointRestore {

    /** Sparse granularity of a file target: a 4 KiB run of zeros is left as a hole. */
    private static final int PAGE = 4096;
    private static final int CHUNK = 1 << 20;

    /** What was materialised, and whether the base could be reflinked instead of copied. */
    public record Result(Point point, Path target, long bytesCopied, boolean cloned, int undoFilesApplied) {}

    private final Optional<NativeIo> io;

    public PointRestore(Optional<NativeIo> io) {
        this.io = io;
    }

    /** Materialises {@code plan} into {@code target}, which may exist (the caller asked for --force). */
    public Result materialise(RestorePlan plan, Path target) throws IOException {
        for (RestorePlan.Undo u : plan.undos()) {
            UndoFile.Header h = UndoFile.check(u.file());
            if (h.pointId() != u.point().id() || h.lengthBefore() != u.point().length() || h.lengthAfter() != u.lengthAfter()) {
                throw new PointFormatException("undo file " + u.file() + " is for point " + h.pointId() + " ("
                        + h.lengthBefore() + " <- " + h.lengthAfter() + " bytes), not point " + u.point().id() + " ("
                        + u.point().length() + " <- " + u.lengthAfter() + ")", false);
            }
        }
        if (isBlockDevice(target)) {
            return toDevice(plan, target);
        }
        Path temp = target.resolveSibling("." + target.getFileName() + ".standin-restore");
        Files.deleteIfExists(temp);
        try {
            Files.createFile(temp);
            Result result;
            try (Working w = Working.file(temp, io)) {
                result = build(plan, target, w);
                w.channel.force(true);
            }
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot rename " + temp + " onto " + target + " atomically", e);
            }
            Durability.syncDirectory(target.toAbsolutePath().getParent());
            return result;
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    private Result toDevice(RestorePlan plan, Path target) throws IOException {
        try (NativeFile device = io.get().open(target, true)) {
            if (device.size() < plan.largestLength()) {
                throw new IOException("device " + target + " holds " + device.size() + " bytes; restoring point "
                        + plan.point().id() + " needs " + plan.largestLength());
            }
        }
        try (Working w = Working.device(target, io.get())) {
            Result result = build(plan, target, w);
            w.channel.force(true);
            return result;
        }
    }

    private Result build(RestorePlan plan, Path target, Working w) throws IOException {
        boolean cloned = !w.device && !plan.baseIsDevice() && io.isPresent() && w.cloneFrom(plan.base(), io.get());
        long copied = cloned ? 0 : copyBase(plan, w);
        for (RestorePlan.Undo u : plan.undos()) {
            UndoFile.apply(u.file(), w);
        }
        w.setLength(plan.point().length());
        byte[] digest = digest(w, plan.point().length(), plan.point().blockSize());
        if (!Arrays.equals(digest, plan.point().digest())) {
            throw new PointFormatException("point " + plan.point().id() + " materialised with image digest "
                    + ImageDigest.hex(digest) + ", but it was recorded as " + plan.point().digestHex()
                    + "; its data is damaged" + (w.device ? " (" + target + " was written)" : "; nothing was written"),
                    false);
        }
        return new Result(plan.point(), target, copied, cloned, plan.undos().size());
    }

    /** Copies the base's data extents; zero runs stay holes in a file and are zeroed on a device. */
    private long copyBase(RestorePlan plan, Working w) throws IOException {
        long length = plan.baseLength();
        w.copyingOver(length);
        List<Extent> extents;
        if (plan.baseIsDevice() || io.isEmpty()) {
            extents = List.of(new Extent(0, length));
        } else {
            try (NativeFile base = io.get().open(plan.base(), false)) {
                extents = base.dataExtents(0, length);
            }
        }
        long copied = 0;
        long position = 0;
        ByteBuffer buffer = ByteBuffer.allocateDirect(CHUNK);
        try (FileChannel in = FileChannel.open(plan.base(), StandardOpenOption.READ)) {
            for (Extent e : extents) {
                if (w.device && e.offset() > position) {
                    w.zero(position, e.offset() - position);
                }
                for (long pos = e.offset(); pos < e.end(); ) {
                    int n = (int) Math.min(CHUNK, e.end() - pos);
                    buffer.clear().limit(n);
                    readFully(in, buffer, pos);
                    buffer.flip();
                    copied += w.writeSparse(pos, buffer);
                    pos += n;
                }
                position = e.end();
            }
            if (w.device && position < length) {
                w.zero(position, length - position);
            }
        }
        return copied;
    }

    /** The image digest of the first {@code length} bytes, as a cycle computes it; holes are not read. */
    private static byte[] digest(Working w, long length, int blockSize) throws IOException {
        Signatures signatures = new Signatures(length, blockSize);
        SignatureBuilder builder = new SignatureBuilder(signatures);
        int segment = Math.max(4 << 20, blockSize);
        ByteBuffer buffer = ByteBuffer.allocate(segment);
        for (long pos = 0; pos < length; pos += segment) {
            int n = (int) Math.min(segment, length - pos);
            if (w.isHole(pos, n)) {
                builder.addZeros(pos, n);
                continue;
            }
            buffer.clear().limit(n);
            readFully(w.channel, buffer, pos);
            builder.add(pos, buffer, n);
        }
        return signatures.digest();
    }

    private static void readFully(FileChannel in, ByteBuffer buffer, long position) throws IOException {
        while (buffer.hasRemaining()) {
            int n = in.read(buffer, position);
            if (n < 0) {
                throw new IOException("unexpected end of image at byte " + position);
            }
            position += n;
        }
    }

    /**
     * True for a block device target, false for a new or regular file; anything else (a directory,
     * a character device, or a device when the native library cannot tell) is refused rather than
     * renamed over.
     */
    private boolean isBlockDevice(Path path) throws IOException {
        if (!Files.exists(path) || Files.isRegularFile(path)) {
            return false;
        }
        if (io.isPresent()) {
            try (NativeFile f = io.get().open(path, false)) {
                if (f.isBlockDevice()) {
                    return true;
                }
            }
        }
        throw new IllegalArgumentException("target " + path + " is neither a regular file nor a block device"
                + (io.isEmpty() ? " (without the native library standin cannot write devices)" : ""));
    }

    /** The image being built: a temporary file (sparse) or a block device (length is logical). */
    private static final class Working implements UndoFile.Target, AutoCloseable {
        final FileChannel channel;
        final boolean device;
        private final RandomAccessFile file;
        private final NativeFile nativeFile;
        private long length;
        private boolean zeroingSupported = true;

        private Working(RandomAccessFile file, FileChannel channel, NativeFile nativeFile, boolean device, long length) {
            this.file = file;
            this.channel = channel;
            this.nativeFile = nativeFile;
            this.device = device;
            this.length = length;
        }

        static Working file(Path path, Optional<NativeIo> io) throws IOException {
            RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw");
            try {
                return new Working(file, file.getChannel(), io.isPresent() ? io.get().open(path, true) : null, false, 0);
            } catch (IOException | RuntimeException e) {
                file.close();
                throw e;
            }
        }

        static Working device(Path path, NativeIo io) throws IOException {
            FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
            try {
                return new Working(null, channel, io.open(path, true), true, 0);
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
        }

        /** Reflinks the whole base into this (empty) file; false where the filesystem cannot. */
        boolean cloneFrom(Path base, NativeIo io) throws IOException {
            try (NativeFile from = io.open(base, false)) {
                nativeFile.cloneFrom(from);
                length = channel.size();
                return true;
            } catch (UnsupportedOperationIOException e) {
                return false; // another filesystem, or one without reflinks: copy
            }
        }

        /**
         * Starts the image at {@code newLength} bytes that the caller is about to write in full: a
         * file gets its length (holes), a device needs no zeroing first.
         */
        void copyingOver(long newLength) throws IOException {
            if (!device) {
                file.setLength(newLength);
            }
            length = newLength;
        }

        @Override
        public void setLength(long newLength) throws IOException {
            if (!device) {
                file.setLength(newLength);
            } else if (newLength > length) {
                zero(length, newLength - length); // what a file's extension would read: zeros
            }
            length = newLength;
        }

        @Override
        public void write(long offset, ByteBuffer data) throws IOException {
            while (data.hasRemaining()) {
                offset += channel.write(data, offset);
            }
        }

        /** Writes the non-zero pages of {@code data} (a file starts as holes); all of it on a device. */
        long writeSparse(long offset, ByteBuffer data) throws IOException {
            if (device) {
                int n = data.remaining();
                write(offset, data);
                return n;
            }
            long written = 0;
            int n = data.remaining();
            int start = -1;
            for (int pos = 0; pos < n; pos += PAGE) {
                boolean zero = ZeroBlocks.isZero(data, pos, Math.min(PAGE, n - pos));
                if (!zero && start < 0) {
                    start = pos;
                } else if (zero && start >= 0) {
                    write(offset + start, data.duplicate().position(start).limit(pos));
                    written += pos - start;
                    start = -1;
                }
            }
            if (start >= 0) {
                write(offset + start, data.duplicate().position(start).limit(n));
                written += n - start;
            }
            return written;
        }

        @Override
        public void zero(long offset, long zeroLength) throws IOException {
            boolean aligned = !device || (offset % 512 == 0 && zeroLength % 512 == 0);
            if (nativeFile != null && zeroingSupported && aligned) {
                try {
                    if (device) {
                        nativeFile.zeroOut(offset, zeroLength);
                    } else {
                        nativeFile.punchHole(offset, zeroLength);
                    }
                    return;
                } catch (UnsupportedOperationIOException e) {
                    zeroingSupported = false;
                } catch (NativeException e) {
                    // zeros written by hand are always correct, only slower
                }
            }
            for (long done = 0; done < zeroLength; ) {
                int n = (int) Math.min(CHUNK, zeroLength - done);
                write(offset + done, ZeroBlocks.zeros(n));
                done += n;
            }
        }

        /** True if {@code [offset, offset + n)} is one hole of a file (never on a device). */
        boolean isHole(long offset, int n) throws IOException {
            if (device || nativeFile == null) {
                return false;
            }
            try {
                long data = nativeFile.seekData(offset);
                return data < 0 || data >= offset + n;
            } catch (UnsupportedOperationIOException e) {
                return false;
            }
        }

        @Override
        public void close() throws IOException {
            try (FileChannel c = channel; NativeFile n = nativeFile) {
                if (file != null) {
                    file.close();
                }
            }
        }
    }
}
