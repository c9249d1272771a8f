package dev.standin.agent.transport;

import dev.standin.delta.BlockSize;
import dev.standin.delta.ImageDigest;
import dev.standin.delta.stream.DeltaFormat;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The control messages of the standin protocol (docs/protocol.md). Each is one frame; the delta
 * stream itself is not a message but follows {@link Begin} on the sender's side of the channel in
 * its own framed format (docs/delta-format.md). Every field read from the peer is bounds-checked
 * here, before anything is allocated or used.
 */
public sealed interface Message {

    /** The frame type byte. */
    byte type();

    void write(DataOutputStream out) throws IOException;

    /** First message each way: which protocol versions this end speaks, and what it can do. */
    record Hello(int minVersion, int maxVersion, String software, List<String> capabilities) implements Message {
        public static final byte TYPE = 1;

        public Hello {
            capabilities = List.copyOf(capabilities);
        }

        @Override
        public byte type() {
            return TYPE;
        }

        @Override
        public void write(DataOutputStream out) throws IOException {
            out.writeShort(minVersion);
            out.writeShort(maxVersion);
            writeString(out, software);
            out.writeShort(capabilities.size());
            for (String c : capabilities) {
                writeString(out, c);
            }
        }

        static Hello read(DataInputStream in) throws IOException {
            int min = in.readUnsignedShort();
            int max = in.readUnsignedShort();
            String software = readString(in);
            int n = in.readUnsignedShort();
            if (n > 64) {
                throw new ProtocolException("hello lists " + n + " capabilities, at most 64 are allowed");
            }
            List<String> caps = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                caps.add(readString(in));
            }
            return new Hello(min, max, software, caps);
        }
    }

    /**
     * Sender → receiver: which replica (a path relative to the receiver's root), how long the
     * source is, the block size asked for (0: the receiver chooses by the usual rule), and the
     * generation the sender holds signatures for (empty: none).
     */
    record Open(String path, long sourceLength, long sourceAllocated, int blockSize, boolean dryRun, boolean scrub,
            int keepPoints, Optional<byte[]> knownGeneration) implements Message {
        public static final byte TYPE = 2;

        @Override
        public byte type() {
            return TYPE;
        }

        @Override
        public void write(DataOutputStream out) throws IOException {
            writeString(out, path);
            out.writeLong(sourceLength);
            out.writeLong(sourceAllocated);
            out.writeInt(blockSize);
            out.writeBoolean(dryRun);
            out.writeBoolean(scrub);
            out.writeInt(keepPoints);
            writeDigest(out, knownGeneration);
        }

        static Open read(DataInputStream in) throws IOException {
            String path = readString(in);
            long length = in.readLong();
            long allocated = in.readLong();
            if (length < 0 || length > DeltaFormat.MAX_IMAGE_LENGTH || allocated < 0 || allocated > length) {
                throw new ProtocolException("Open: source length " + length + " with " + allocated
                        + " allocated is impossible (lengths are 0 to 2^62)");
            }
            int blockSize = in.readInt();
            if (blockSize != 0 && !BlockSize.isValid(blockSize)) {
                throw new ProtocolException("Open: block size " + blockSize + " is not 0 or a power of two from "
                        + BlockSize.MIN + " to " + BlockSize.MAX);
            }
            boolean dryRun = readFlag(in, "Open.dryRun");
            boolean scrub = readFlag(in, "Open.scrub");
            int keepPoints = in.readInt();
            if (keepPoints < -1) {
                throw new ProtocolException("Open: keepPoints " + keepPoints + " is not -1 (the receiver's default) or more");
            }
            return new Open(path, length, allocated, blockSize, dryRun, scrub, keepPoints, readDigest(in));
        }
    }

    /**
     * Receiver → sender: the replica's state after recovery, the block size of this cycle, and the
     * replica's generation (the digest of its content as of its last commit) when it is known
     * without reading the replica.
     */
    record Ready(ReplicaKind kind, long replicaLength, int blockSize, Optional<byte[]> generation, String recovery,
            long availableBytes, long heldBytes) implements Message {
        public static final byte TYPE = 3;

        @Override
        public byte type() {
            return TYPE;
        }

        @Override
        public void write(DataOutputStream out) throws IOException {
            out.writeByte(kind.ordinal());
            out.writeLong(replicaLength);
            out.writeInt(blockSize);
            writeDigest(out, generation);
            writeString(out, recovery);
            out.writeLong(availableBytes);
            out.writeLong(heldBytes);
        }

        static Ready read(DataInputStream in) throws IOException {
            int kind = in.readUnsignedByte();
            if (kind >= ReplicaKind.values().length) {
                throw new ProtocolException("unknown replica kind " + kind);
            }
            return new Ready(ReplicaKind.values()[kind], in.readLong(), in.readInt(), readDigest(in), readString(in),
                    in.readLong(), in.readLong());
        }
    }

    /**
     * What the destination is on the receiver. PARTIAL: absent, but an interrupted first copy
     * of this image holds its first {@code replicaLength} bytes, offered as the basis.
     */
    enum ReplicaKind { ABSENT, FILE, DEVICE, PARTIAL }

    /** Sender → receiver: send me your signatures (or not: mine are of your generation), then the delta follows. */
    record Begin(boolean wantSignatures) implements Message {
        public static final byte TYPE = 4;

        @Override
        public byte type() {
            return TYPE;
        }

        @Override
        public void write(DataOutputStream out) throws IOException {
            out.writeBoolean(wantSignatures);
        }

        static Begin read(DataInputStream in) throws IOException {
            return new Begin(readFlag(in, "Begin.wantSignatures"));
        }
    }

    /**
     * Receiver → sender: signature entries {@code [first, first + count)}; 12 bytes each (weak
     * sum, XXH3-64), as in the signature cache.
     */
    record SignatureChunk(int first, int[] weak, long[] strong) implements Message {
        public static final byte TYPE = 5;
        /** 32768 entries: 384 KiB per frame. */
        public static final int MAX_ENTRIES = 1 << 15;

        @Override
        public byte type() {
            return TYPE;
        }

        @Override
        public void write(DataOutputStream out) throws IOException {
            out.writeInt(first);
            out.writeInt(weak.length);
            for (int i = 0; i < weak.length; i++) {
                out.writeInt(weak[i]);
                out.writeLong(strong[i]);
            }
        }

        static SignatureChunk read(DataInputStream in) throws IOException {
            int first = in.readInt();
            int count = in.readInt();
            if (first < 0 || count < 0 || count > MAX_ENTRIES) {
                throw new ProtocolException("signature chunk [" + first + ", +" + count + ") out of range");
            }
            int[] weak = new int[count];
            long[] strong = new long[count];
            for (int i = 0; i < count; i++) {
                weak[i] = in.readInt();
                strong[i] = in.readLong();
            }
            return new SignatureChunk(first, weak, strong);
        }
    }

    /**
     * Receiver → sender, before the chunks of a signature set: how long the image they describe
     * is, in which block size, and where they came from ("cache", "read").
     */
    record SignaturesBegin(long length, int blockSize, String source, long bytesRead) implements Message {
        public static final byte TYPE = 6;

        @Override
        public byte type() {
            return TYPE;
        }

        @Override
        public void write(DataOutputStream out) throws IOException {
            out.writeLong(length);
            out.writeInt(blockSize);
            writeString(out, source);
            out.writeLong(bytesRead);
        }

        static SignaturesBegin read(DataInputStream in) throws IOException {
            return new SignaturesBegin(in.readLong(), in.readInt(), readString(in), in.readLong());
        }
    }

    /** Closes a signature set: the digest of the image the signatures describe. */
    record SignaturesEnd(byte[] digest) implements Message {
        public static final byte TYPE = 7;

        @Override
        public byte type() {
            return TYPE;
        }

        @Override
        public void write(DataOutputStream out) throws IOException {
            out.write(digest);
        }

        static SignaturesEnd read(DataInputStream in) throws IOException {
            byte[] d = new byte[ImageDigest.LENGTH];
            in.readFully(d);
            return new SignaturesEnd(d);
        }
    }

    /**
     * Receiver → sender after a commit: the digest of the replica's content now (its new
     * generation) and the recovery point it is. The signature entries that differ from the basis
     * precede it as {@link SignatureChunk}s, so that the sender's cache follows the replica
     * without reading it.
     */
    record Committed(byte[] digest, long pointId) implements Message {
        public static final byte TYPE = 8;

        @Override
        public byte type() {
            return TYPE;
        }

        @Override
        public void write(DataOutputStream out) throws IOException {
            out.write(digest);
            out.writeLong(pointId);
        }

        static Committed read(DataInputStream in) throws IOException {
            byte[] d = new byte[ImageDigest.LENGTH];
            in.readFully(d);
            return new Committed(d, in.readLong());
        }
    }

    /**
     * Either way: the cycle failed; {@code exitStatus} is one of standin's documented exit codes,
     * {@code permanent} whether the same cycle, run again unchanged, cannot succeed (a full disk,
     * a refused path) so that the sender's supervisor does not retry it as if the network blinked.
     */
    record Failure(int exitStatus, boolean permanent, String message) implements Message {
        public static final byte TYPE = 9;

        /** What a side sends for one of its own failures, the reason bounded and escaped for the wire. */
        static Failure of(dev.standin.failure.StandinException failure, String reason) {
            return new Failure(failure.status().code(), failure.isPermanent(), reason);
        }

        @Override
        public byte type() {
            return TYPE;
        }

        @Override
        public void write(DataOutputStream out) throws IOException {
            out.writeByte(exitStatus);
            out.writeBoolean(permanent);
            writeString(out, message);
        }

        static Failure read(DataInputStream in) throws IOException {
            return new Failure(in.readUnsignedByte(), readFlag(in, "Failure.permanent"), readString(in));
        }
    }

    /** Sender → receiver, instead of Open: scrub this replica and report, nothing else. */
    record Verify(String path) implements Message {
        public static final byte TYPE = 10;

        @Override
        public byte type() {
            return TYPE;
        }

        @Override
        public void write(DataOutputStream out) throws IOException {
            writeString(out, path);
        }

        static Verify read(DataInputStream in) throws IOException {
            return new Verify(readString(in));
        }
    }

    /**
     * Receiver → sender: a scrub's report, as the JSON that {@code standin verify --json} prints
     * under {@code scrub} (at most 256 KiB: the report lists at most 64 ranges).
     */
    record ScrubResult(String json) implements Message {
        public static final byte TYPE = 11;
        static final int MAX_JSON = 256 << 10;

        @Override
        public byte type() {
            return TYPE;
        }

        @Override
        public void write(DataOutputStream out) throws IOException {
            writeBytes(out, json.getBytes(StandardCharsets.UTF_8));
        }

        static ScrubResult read(DataInputStream in) throws IOException {
            return new ScrubResult(new String(readBytes(in, MAX_JSON, "scrub report"), StandardCharsets.UTF_8));
        }
    }

    /**
     * Receiver → sender, while the receiver works a long time without another message to send
     * (signing or scrubbing the replica, committing): it is alive and advancing.
     * {@code progress} grows with the work done; the sender's {@code --timeout} counts it as data.
     */
    record KeepAlive(long progress) implements Message {
        public static final byte TYPE = 12;

        @Override
        public byte type() {
            return TYPE;
        }

        @Override
        public void write(DataOutputStream out) throws IOException {
            out.writeLong(progress);
        }

        static KeepAlive read(DataInputStream in) throws IOException {
            return new KeepAlive(in.readLong());
        }
    }

    /**
     * Sender → receiver, instead of Open, after every disk of a VM's cycle committed: record this
     * VM point (docs/vm-points-format.md) beside the replica {@code path} (the first disk's).
     * Sent only to a receiver whose Hello lists {@code vm-points}.
     */
    record RecordVmPoint(String path, byte[] record) implements Message {
        public static final byte TYPE = 13;
        /** The record's header, body and checksum. */
        static final int MAX_RECORD = dev.standin.agent.vm.VmPointFormat.MAX_BODY + 20;

        public RecordVmPoint {
            record = record.clone();
        }

        @Override
        public byte[] record() {
            return record.clone();
        }

        @Override
        public byte type() {
            return TYPE;
        }

        @Override
        public void write(DataOutputStream out) throws IOException {
            writeString(out, path);
            writeBytes(out, record);
        }

        static RecordVmPoint read(DataInputStream in) throws IOException {
            return new RecordVmPoint(readString(in), readBytes(in, MAX_RECORD, "a VM point record"));
        }
    }

    /** Receiver → sender: the VM point is recorded under {@code id}. */
    record VmPointRecorded(long id) implements Message {
        public static final byte TYPE = 14;

        @Override
        public byte type() {
            return TYPE;
        }

        @Override
        public void write(DataOutputStream out) throws IOException {
            out.writeLong(id);
        }

        static VmPointRecorded read(DataInputStream in) throws IOException {
            long id = in.readLong();
            if (id < 1) {
                throw new ProtocolException("VM point id " + id);
            }
            return new VmPointRecorded(id);
        }
    }

    /**
     * Sender → receiver, instead of Open: start VM {@code vm}'s newest VM point beside the replica
     * {@code path} as a test failover (no network, removed afterwards), check that it boots within
     * {@code timeoutSeconds}, and report. Only to a receiver whose Hello lists {@code boot-check}.
     */
    record CheckBoot(String path, String vm, int timeoutSeconds) implements Message {
        public static final byte TYPE = 15;

        @Override
        public byte type() {
            return TYPE;
        }

        @Override
        public void write(DataOutputStream out) throws IOException {
            writeString(out, path);
            writeString(out, vm);
            out.writeInt(timeoutSeconds);
        }

        static CheckBoot read(DataInputStream in) throws IOException {
            CheckBoot m = new CheckBoot(readString(in), readString(in), in.readInt());
            if (m.timeoutSeconds < 1 || m.timeoutSeconds > 86_400) {
                throw new ProtocolException("a boot check timeout of " + m.timeoutSeconds + " s");
            }
            return m;
        }
    }

    /** Receiver → sender: the boot check's report, as {@code standin failover --json} prints it (≤ 64 KiB). */
    record BootReport(String json) implements Message {
        public static final byte TYPE = 16;
        static final int MAX_JSON = 64 << 10;

        @Override
        public byte type() {
            return TYPE;
        }

        @Override
        public void write(DataOutputStream out) throws IOException {
            writeBytes(out, json.getBytes(StandardCharsets.UTF_8));
        }

        static BootReport read(DataInputStream in) throws IOException {
            return new BootReport(new String(readBytes(in, MAX_JSON, "a boot report"), StandardCharsets.UTF_8));
        }
    }

    /**
     * Sender → receiver, instead of Open: fail VM {@code vm} over to this host from its VM point
     * {@code point} (the one the planned move's last cycle recorded beside the replica {@code path}):
     * start it for real, check that it boots within {@code timeoutSeconds}, and stop and remove it
     * again if it did not. Answered by BootReport. Only to a receiver whose Hello lists {@code failover}.
     */
    record StartVm(String path, String vm, long point, int timeoutSeconds) implements Message {
        public static final byte TYPE = 17;

        @Override
        public byte type() {
            return TYPE;
        }

        @Override
        public void write(DataOutputStream out) throws IOException {
            writeString(out, path);
            writeString(out, vm);
            out.writeLong(point);
            out.writeInt(timeoutSeconds);
        }

        static StartVm read(DataInputStream in) throws IOException {
            StartVm m = new StartVm(readString(in), readString(in), in.readLong(), in.readInt());
            if (m.point < 1) {
                throw new ProtocolException("VM point id " + m.point);
            }
            if (m.timeoutSeconds < 1 || m.timeoutSeconds > 86_400) {
                throw new ProtocolException("a boot check timeout of " + m.timeoutSeconds + " s");
            }
            return m;
        }
    }

    static Message read(byte type, DataInputStream in) throws IOException {
        return switch (type) {
            case Hello.TYPE -> Hello.read(in);
            case Open.TYPE -> Open.read(in);
            case Ready.TYPE -> Ready.read(in);
            case Begin.TYPE -> Begin.read(in);
            case SignatureChunk.TYPE -> SignatureChunk.read(in);
            case SignaturesBegin.TYPE -> SignaturesBegin.read(in);
            case SignaturesEnd.TYPE -> SignaturesEnd.read(in);
            case Committed.TYPE -> Committed.read(in);
            case Failure.TYPE -> Failure.read(in);
            case Verify.TYPE -> Verify.read(in);
            case ScrubResult.TYPE -> ScrubResult.read(in);
            case KeepAlive.TYPE -> KeepAlive.read(in);
            case RecordVmPoint.TYPE -> RecordVmPoint.read(in);
            case VmPointRecorded.TYPE -> VmPointRecorded.read(in);
            case CheckBoot.TYPE -> CheckBoot.read(in);
            case BootReport.TYPE -> BootReport.read(in);
            case StartVm.TYPE -> StartVm.read(in);
            default -> throw new ProtocolException("unknown message type " + type);
        };
    }

    /** Strings are at most 4096 bytes of UTF-8: paths, names, one-line messages. */
    int MAX_STRING = 4096;

    private static void writeString(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > MAX_STRING) {
            throw new IllegalArgumentException("string of " + b.length + " bytes is longer than " + MAX_STRING);
        }
        out.writeShort(b.length);
        out.write(b);
    }

    private static String readString(DataInputStream in) throws IOException {
        int n = in.readUnsignedShort();
        if (n > MAX_STRING) {
            throw new ProtocolException("string of " + n + " bytes is longer than " + MAX_STRING);
        }
        byte[] b = new byte[n];
        in.readFully(b);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(b))
                    .toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new ProtocolException("a string of " + n + " bytes is not valid UTF-8");
        }
    }

    /** A {@code u32} length and that many bytes. */
    private static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
        out.writeInt(b.length);
        out.write(b);
    }

    /** What {@link #writeBytes} wrote; a length over {@code max} is refused before anything is allocated. */
    private static byte[] readBytes(DataInputStream in, int max, String what) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > max) {
            throw new ProtocolException(what + " of " + Integer.toUnsignedLong(n) + " bytes");
        }
        byte[] b = new byte[n];
        in.readFully(b);
        return b;
    }

    private static void writeDigest(DataOutputStream out, Optional<byte[]> digest) throws IOException {
        out.writeBoolean(digest.isPresent());
        if (digest.isPresent()) {
            out.write(digest.get());
        }
    }

    /** A flag byte: 0 or 1, as the spec says; anything else is a malformed message, not "true". */
    private static boolean readFlag(DataInputStream in, String field) throws IOException {
        int b = in.readUnsignedByte();
        if (b > 1) {
            throw new ProtocolException(field + " is " + b + ", not 0 or 1");
        }
        return b == 1;
    }

    private static Optional<byte[]> readDigest(DataInputStream in) throws IOException {
        if (!readFlag(in, "digest present")) {
            return Optional.empty();
        }
        byte[] d = new byte[ImageDigest.LENGTH];
        in.readFully(d);
        return Optional.of(d);
    }
}
