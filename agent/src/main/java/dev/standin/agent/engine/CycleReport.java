package dev.standin.agent.engine;

import dev.standin.agent.vm.VmPoint;
import dev.standin.failure.StandinException;
import java.util.List;
import java.util.Optional;

/**
 * How a cycle ended: one outcome per disk, in the request's order, and, for a request that names
 * its VM, the VM point recorded once every disk committed ({@code vmPointFailure}: why it could not
 * be; both empty when a disk failed, so that no VM point mixes two instants).
 */
public record CycleReport(List<DiskOutcome> disks, Optional<VmPoint> vmPoint,
        Optional<StandinException> vmPointFailure) {

    public CycleReport {
        disks = List.copyOf(disks);
    }

    static CycleReport of(List<DiskOutcome> disks) {
        return new CycleReport(disks, Optional.empty(), Optional.empty());
    }

    /** Every disk committed and, if the VM's point was to be recorded, it was. */
    public boolean succeeded() {
        return disks.stream().allMatch(DiskOutcome::succeeded) && vmPointFailure.isEmpty();
    }
}
