package dev.standin.supervisor.policy;

import static dev.standin.supervisor.policy.PlannerTest.T0;
import static dev.standin.supervisor.policy.PlannerTest.failed;
import static dev.standin.supervisor.policy.PlannerTest.ok;
import static dev.standin.supervisor.policy.PlannerTest.rpo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Every edge of the health rules, with the time set by the test. */
class HealthRulesTest {

    static final TargetPolicy FIVE_MINUTES = rpo(Duration.ofMinutes(5));

    static HealthRules.Verdict at(TargetState state, Instant now) {
        return HealthRules.judge(FIVE_MINUTES, state, false, now);
    }

    @Test
    void initialSyncUntilTheFirstPointThenOk() {
        assertEquals(Health.INITIAL_SYNC, at(TargetState.fresh(T0), T0).health());
        TargetState first = TargetState.fresh(T0).after(ok(T0, Duration.ofMinutes(30)));
        assertEquals(Health.OK, at(first, T0.plus(Duration.ofMinutes(4))).health());
    }

    @Test
    void warningPastTheRpoAndCriticalPastThreeRpos() {
        TargetState state = TargetState.fresh(T0).after(ok(T0, Duration.ofSeconds(10)));
        assertEquals(Health.OK, at(state, T0.plus(Duration.ofMinutes(5))).health(), "exactly the RPO is within it");
        HealthRules.Verdict warning = at(state, T0.plus(Duration.ofMinutes(5)).plusSeconds(1));
        assertEquals(Health.WARNING, warning.health());
        assertTrue(warning.reason().contains("over RPO 5m"), warning.reason());
        assertEquals(Health.WARNING, at(state, T0.plus(Duration.ofMinutes(15))).health());
        HealthRules.Verdict critical = at(state, T0.plus(Duration.ofMinutes(15)).plusSeconds(1));
        assertEquals(Health.CRITICAL, critical.health());
        assertTrue(critical.reason().contains("3 x RPO 5m"), critical.reason());
    }

    @Test
    void warningWhenMoreThanAFifthOfTheLastHoursCyclesFailed() {
        TargetState state = TargetState.fresh(T0);
        Instant t = T0;
        for (int i = 0; i < 4; i++) {
            state = state.after(ok(t, Duration.ofSeconds(5)));
            t = t.plusSeconds(60);
        }
        state = state.after(failed(t, Outcome.TRANSIENT));
        assertEquals(Health.OK, at(state, t.plusSeconds(3)).health(), "1 of 5 is 20 %, not more");
        state = state.after(failed(t.plusSeconds(30), Outcome.TRANSIENT));
        HealthRules.Verdict v = at(state, t.plusSeconds(33));
        assertEquals(Health.WARNING, v.health());
        assertTrue(v.reason().startsWith("2 of 6 cycles in the last hour failed; last error: connection refused"),
                v.reason());
        // An hour later those failures are out of the window and a success has come.
        TargetState later = state.after(ok(t.plus(Duration.ofMinutes(62)), Duration.ofSeconds(5)));
        assertEquals(Health.OK, at(later, t.plus(Duration.ofMinutes(63))).health());
    }

    @Test
    void aPermanentFailureIsCriticalAtOnceWithItsReason() {
        TargetState state = TargetState.fresh(T0).after(ok(T0, Duration.ofSeconds(5)))
                .after(failed(T0.plusSeconds(60), Outcome.PERMANENT));
        HealthRules.Verdict v = at(state, T0.plusSeconds(63));
        assertEquals(Health.CRITICAL, v.health());
        assertTrue(v.reason().startsWith("connection refused"), v.reason());
    }

    @Test
    void aReplicaThatNeedsAResyncIsCritical() {
        CycleRecord drifted = new CycleRecord("verify", T0, T0.plusSeconds(9), Outcome.TRANSIENT, false,
                Optional.empty(), Optional.of("replica drifted from its record"), true);
        TargetState state = TargetState.fresh(T0).after(ok(T0, Duration.ofSeconds(5))).after(drifted);
        assertEquals(Health.CRITICAL, at(state, T0.plusSeconds(10)).health());
        HealthRules.Verdict repaired = at(state.after(ok(T0.plusSeconds(20), Duration.ofSeconds(5))), T0.plusSeconds(30));
        assertEquals(Health.WARNING, repaired.health(), "a cycle that committed repaired it; the failure still counts");
        assertTrue(repaired.reason().startsWith("1 of 3 cycles in the last hour failed"), repaired.reason());
    }

    @Test
    void aVmPointThatDidNotBootIsAWarningUntilACheckBootsOne() {
        TargetState state = TargetState.fresh(T0).after(ok(T0, Duration.ofSeconds(10)));
        Instant later = T0.plusSeconds(60);
        TargetState failed = state.after(check(later, "failed", 3, "the guest kernel panicked (GUEST_PANICKED)"));
        HealthRules.Verdict warning = at(failed, later.plusSeconds(60));
        assertEquals(Health.WARNING, warning.health());
        assertEquals("VM point 3 did not boot in its boot check: the guest kernel panicked (GUEST_PANICKED)",
                warning.reason());
        assertEquals(0, failed.consecutiveFailures(), "the check ran: a VM that does not boot is not a failed cycle");
        TargetState fixed = failed.after(ok(later.plusSeconds(70), Duration.ofSeconds(5)))
                .after(check(later.plusSeconds(80), "heuristic", 4, "login prompt"));
        assertEquals(Health.OK, at(fixed, later.plusSeconds(90)).health());
    }

    static CycleRecord check(Instant started, String verdict, long point, String reason) {
        return new CycleRecord(CycleRecord.BOOT_CHECK, started, started.plusSeconds(5), Outcome.OK, false,
                Optional.empty(), Optional.empty(), false, Optional.of(new BootOutcome(verdict, point, reason)));
    }

    @Test
    void pausedWinsOverEverything() {
        TargetState state = TargetState.fresh(T0).after(failed(T0, Outcome.PERMANENT));
        assertEquals(Health.PAUSED, HealthRules.judge(FIVE_MINUTES, state, true, T0).health());
    }

    @Test
    void aVmIsItsWorstTarget() {
        assertEquals(Health.CRITICAL, Health.worst(Health.OK, Health.CRITICAL));
        assertEquals(Health.WARNING, Health.worst(Health.WARNING, Health.INITIAL_SYNC));
        assertEquals("initial-sync", Health.INITIAL_SYNC.label());
    }
}
