package dev.standin.snapshot.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;

/**
 * Folds the overlay back into the drive's image while the guest keeps writing, and pivots the
 * drive back onto its image: {@code block-commit} of the active layer runs as a mirror until the
 * two are in sync (BLOCK_JOB_READY), then {@code block-job-complete} switches the guest over
 * atomically (BLOCK_JOB_COMPLETED). A job left by a crashed agent is picked up where it is.
 */
final class ActiveCommit {

    private final QmpClient qmp;
    private final String overlayNode;
    private final String baseNode;
    private final Duration timeout;

    ActiveCommit(QmpClient qmp, String overlayNode, String baseNode, Duration timeout) {
        this.qmp = qmp;
        this.overlayNode = overlayNode;
        this.baseNode = baseNode;
        this.timeout = timeout;
    }

    void run() throws QmpException {
        String job = "commit-" + overlayNode;
        JsonNode existing = findJob(job);
        if (existing == null) {
            qmp.execute("block-commit", QmpClient.args().put("job-id", job).put("device", overlayNode)
                    .put("top-node", overlayNode).put("base-node", baseNode));
        }
        awaitReady(job);
        qmp.execute("block-job-complete", QmpClient.args().put("device", job));
        JsonNode completed = qmp.awaitEvent(e -> e.path("event").asText().equals("BLOCK_JOB_COMPLETED")
                && job.equals(e.path("data").path("device").asText()), timeout, "BLOCK_JOB_COMPLETED of " + job);
        if (completed.path("data").has("error")) {
            throw new QmpException("commit of " + overlayNode + " into " + baseNode + " failed: "
                    + completed.path("data").path("error").asText(), null);
        }
    }

    /** Polls the job as well as watching events: a job resumed after a crash was ready before we connected. */
    private void awaitReady(String job) throws QmpException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            JsonNode state = findJob(job);
            if (state == null) {
                throw new QmpException("commit job " + job + " vanished before it was ready (see the VM's log)", null);
            }
            if (state.path("ready").asBoolean()) {
                return;
            }
            if (state.path("io-status").asText("ok").equals("failed") || state.path("status").asText().equals("aborting")) {
                throw new QmpException("commit job " + job + " failed: " + state, null);
            }
            if (System.nanoTime() > deadline) {
                throw new QmpException("commit job " + job + " not ready after " + timeout.toSeconds()
                        + " s; it keeps running and the next start completes it", null);
            }
            try {
                qmp.awaitEvent(e -> e.path("event").asText().equals("BLOCK_JOB_READY")
                        && job.equals(e.path("data").path("device").asText()), Duration.ofMillis(200), "ready");
                return;
            } catch (QmpException notYet) {
                if (notYet.getMessage().contains("closed the monitor")) {
                    throw notYet;
                }
            }
        }
    }

    private JsonNode findJob(String job) throws QmpException {
        for (JsonNode j : qmp.execute("query-block-jobs", null)) {
            if (job.equals(j.path("device").asText())) {
                return j;
            }
        }
        return null;
    }
}
