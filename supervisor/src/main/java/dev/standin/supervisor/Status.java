package dev.standin.supervisor;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.standin.supervisor.policy.Durations;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;

/**
 * What {@code standin status} shows: per VM its health (its worst target's) and per target its
 * health with the reason, its newest point against its RPO, the cycle running, the next start and
 * the last error. Times are ISO-8601 UTC in JSON; absent values are null.
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record Status(String generated, List<VmStatus> vms) {

    public record VmStatus(String name, String health, boolean paused, List<TargetStatus> targets) { }

    public record TargetStatus(String dest, String health, String reason, long rpoSeconds, String lastPointTime,
            Long lastPointAgeSeconds, boolean running, String runningKind, Long runningSeconds, String nextStart,
            String nextKind, String nextReason, String lastError, int consecutiveFailures, String phase,
            Double percent, Long etaSeconds, String bootVerdict, Long bootVmPoint, String bootCheckTime,
            String bootReason) { }

    /** One line per target, for a terminal: what an operator reads at 3 a.m. */
    public String text(ZoneId zone) {
        if (vms.isEmpty()) {
            return "no VMs configured\n";
        }
        DateTimeFormatter clock = DateTimeFormatter.ofPattern("MM-dd HH:mm:ss").withZone(zone);
        Instant at = Instant.parse(generated);
        int vmWidth = 2;
        int targetWidth = 6;
        for (VmStatus vm : vms) {
            vmWidth = Math.max(vmWidth, vm.name().length());
            for (TargetStatus t : vm.targets()) {
                targetWidth = Math.max(targetWidth, t.dest().length());
            }
        }
        String row = "%-" + vmWidth + "s  %-" + targetWidth + "s  %-12s  %-9s  %-6s  %-22s  %-19s  %s%n";
        StringBuilder out = new StringBuilder(String.format(row, "VM", "TARGET", "HEALTH", "NEWEST", "RPO",
                "NOW/NEXT", "BOOT CHECK", "REASON"));
        for (VmStatus vm : vms) {
            for (TargetStatus t : vm.targets()) {
                String age = t.lastPointAgeSeconds() == null ? "none"
                        : Durations.format(Duration.ofSeconds(t.lastPointAgeSeconds())) + " ago";
                String now;
                if (t.running()) {
                    now = t.runningKind() + (t.percent() == null ? " for " + Durations.format(Duration.ofSeconds(
                            t.runningSeconds())) : " " + Math.round(t.percent()) + "%" + (t.etaSeconds() == null ? ""
                                    : " ETA " + Durations.format(Duration.ofSeconds(t.etaSeconds()))));
                } else if (t.nextStart() == null) {
                    now = "-";
                } else if (!Instant.parse(t.nextStart()).isAfter(at)) {
                    now = t.nextKind() + " due, no slot free"; // max-parallel holds it
                } else {
                    now = t.nextKind() + " " + clock.format(Instant.parse(t.nextStart()));
                }
                String boot = t.bootVerdict() == null ? "-" : t.bootVerdict() + " " + Durations.format(Duration.between(
                        Instant.parse(t.bootCheckTime()), at)) + " ago";
                out.append(String.format(row, vm.name(), t.dest(), t.health(), age,
                        Durations.format(Duration.ofSeconds(t.rpoSeconds())), now, boot, t.reason()));
            }
        }
        return out.toString();
    }
}
