package dev.standin.agent.image;

import java.lang.reflect.Field;
import java.nio.MappedByteBuffer;

/**
 * Unmapping a file mapping before the collector does ({@code sun.misc.Unsafe.invokeCleaner}, the
 * supported way): mapped memory does not count against the heap, so mappings left to the
 * collector can pile up far beyond it.
 */
public final class Mappings {

    private static final sun.misc.Unsafe UNSAFE = load();

    private Mappings() {}

    /** Whether {@link #unmap} works in this JVM; without it images are read with pread. */
    public static boolean canUnmap() {
        return UNSAFE != null;
    }

    /** Unmaps {@code mapping}; no view of it may be used afterwards. */
    public static void unmap(MappedByteBuffer mapping) {
        UNSAFE.invokeCleaner(mapping);
    }

    private static sun.misc.Unsafe load() {
        try {
            Field field = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            field.setAccessible(true);
            return (sun.misc.Unsafe) field.get(null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }
}
