package dev.standin.delta;

import java.io.FileDescriptor;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.util.Objects;
import java.util.Optional;
import jnr.ffi.LibraryLoader;
import jnr.ffi.types.intptr_t;
import jnr.ffi.types.size_t;

/**
 * XXH3-64 of direct buffers through the system's libxxhash (Debian's libxxhash0, RHEL's
 * xxhash-libs; rsync depends on it), which picks SSE2, AVX2 or AVX-512 for the CPU it runs on.
 * zero-allocation-hashing computes the same function in Java at a fifth of the speed (4 KiB blocks
 * of a mapped file here: 25 vs 5 GB/s per core), and stays the fallback when the library or the
 * buffer's address is out of reach.
 *
 * <p>A block of a file mapping is copied into a per-thread buffer first, and libxxhash hashes the
 * copy: a mapping whose file shrank under the scan (or whose disk failed) faults on access, and a
 * fault in Java code (the copy) becomes the JVM's InternalError, which the scan reports as a
 * one-line error, while a fault inside libxxhash would kill the JVM, the agent with all its
 * cycles. The copy of a 4 KiB block from the page cache to L1 costs about as much as hashing it:
 * 11–19 GB/s with it, 23–27 without, against 7–9 for XXH64 in Java.
 */
final class NativeXxh3 {

    /** libxxhash built with its x86 dispatcher exports this name; the plain build only the next. */
    public interface Dispatching {
        long XXH3_64bits_dispatch(@intptr_t long address, @size_t long length);
    }

    public interface Plain {
        long XXH3_64bits(@intptr_t long address, @size_t long length);
    }

    private static final String[] LIBRARY_NAMES = {"xxhash", "libxxhash.so.0"};

    private final Dispatching dispatching;
    private final Plain plain;
    private final VarHandle bufferAddress;
    /** MappedByteBuffer.fd: set on a file mapping and on its slices, null on allocateDirect's buffers. */
    private final VarHandle mappedFile;
    /** Where blocks of file mappings are copied; per thread, grown to the largest block seen. */
    private final ThreadLocal<ByteBuffer> copies = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(4096));

    private NativeXxh3(Dispatching dispatching, Plain plain, VarHandle bufferAddress, VarHandle mappedFile) {
        this.dispatching = dispatching;
        this.plain = plain;
        this.bufferAddress = bufferAddress;
        this.mappedFile = mappedFile;
    }

    /** Empty where libxxhash is not installed or the JVM does not open java.nio to read addresses. */
    static Optional<NativeXxh3> load() {
        VarHandle address;
        VarHandle fd;
        try {
            address = MethodHandles.privateLookupIn(Buffer.class, MethodHandles.lookup())
                    .findVarHandle(Buffer.class, "address", long.class);
            fd = MethodHandles.privateLookupIn(MappedByteBuffer.class, MethodHandles.lookup())
                    .findVarHandle(MappedByteBuffer.class, "fd", FileDescriptor.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return Optional.empty(); // no --add-opens java.base/java.nio
        }
        for (String name : LIBRARY_NAMES) {
            try {
                Dispatching d = LibraryLoader.create(Dispatching.class).failImmediately().load(name);
                return Optional.of(new NativeXxh3(d, null, address, fd));
            } catch (UnsatisfiedLinkError | RuntimeException noDispatcher) {
                // try the plain entry point, then the next name
            }
            try {
                Plain p = LibraryLoader.create(Plain.class).failImmediately().load(name);
                return Optional.of(new NativeXxh3(null, p, address, fd));
            } catch (UnsatisfiedLinkError | RuntimeException notThere) {
                // next name
            }
        }
        return Optional.empty();
    }

    /** XXH3-64 (seed 0) of {@code length} bytes at absolute index {@code offset} of a direct buffer. */
    long hash(ByteBuffer direct, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, direct.limit());
        if (direct instanceof MappedByteBuffer && mappedFile.get((MappedByteBuffer) direct) != null) {
            ByteBuffer copy = copies.get();
            if (copy.capacity() < length) {
                copy = ByteBuffer.allocateDirect(length);
                copies.set(copy);
            }
            copy.put(0, direct, offset, length);
            return hashAt((long) bufferAddress.get(copy), length);
        }
        return hashAt((long) bufferAddress.get(direct) + offset, length);
    }

    private long hashAt(long address, int length) {
        return dispatching != null ? dispatching.XXH3_64bits_dispatch(address, length) : plain.XXH3_64bits(address, length);
    }

    String implementation() {
        return dispatching != null ? "libxxhash (dispatching)" : "libxxhash";
    }
}
