package dev.standin.snapshot;

import dev.standin.nativeio.NativeIo;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * What every hook is given: where its state lives, the one command runner, the registry of
 * snapshots, a time limit for each external step, and {@link Checkpoints} through which tests
 * inject a failure at a named step.
 */
public record HookContext(Path stateDirectory, CommandRunner runner, StaleSnapshots registry, Duration stepTimeout,
        Optional<NativeIo> io, Checkpoints checkpoints) {

    public HookContext {
        Objects.requireNonNull(stateDirectory, "stateDirectory");
        Objects.requireNonNull(runner, "runner");
        Objects.requireNonNull(registry, "registry");
        Objects.requireNonNull(stepTimeout, "stepTimeout");
        Objects.requireNonNull(io, "io");
        Objects.requireNonNull(checkpoints, "checkpoints");
    }

    /** The production context: 5 minutes per step (a block-commit of a busy disk can take that long). */
    public static HookContext of(Path stateDirectory, Optional<NativeIo> io) {
        return new HookContext(stateDirectory, new CommandRunner(), new StaleSnapshots(stateDirectory),
                Duration.ofMinutes(5), io, Checkpoints.NONE);
    }

    public HookContext withCheckpoints(Checkpoints value) {
        return new HookContext(stateDirectory, runner, registry, stepTimeout, io, value);
    }

    public HookContext withStepTimeout(Duration value) {
        return new HookContext(stateDirectory, runner, registry, value, io, checkpoints);
    }

    /**
     * Called by hooks before each step that changes something ({@code qemu.overlay-created}, ...).
     * Production passes {@link #NONE}; lifecycle tests throw at each step in turn to prove that
     * whatever was made before it is released.
     */
    @FunctionalInterface
    public interface Checkpoints {
        Checkpoints NONE = step -> { };

        void reached(String step) throws SnapshotException;
    }
}
