package dev.standin.agent.sync;

import java.nio.file.Path;
import java.util.Optional;

/** The destination contract in this process. */
class LocalDestinationContractIT extends DestinationContract {

    @Override
    protected Destination destination(Path replica, Path state) {
        return new LocalDestination(replica, state, new Reading(SyncOptions.DEFAULT_SEGMENT_SIZE, 2, false,
                Optional.empty(), Optional.empty()), Progress.NONE, Optional.empty());
    }
}
