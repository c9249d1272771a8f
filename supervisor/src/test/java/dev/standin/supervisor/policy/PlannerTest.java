package dev.standin.supervisor.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** When cycles start, with a clock that moves only when the test says so. */
class PlannerTest {

    static final ZoneId ZONE = ZoneId.of("Europe/Berlin");
    static final Instant T0 = ZonedDateTime.of(2026, 12, 2, 10, 0, 0, 0, ZONE).toInstant(); // a Wednesday
    static final Planner PLANNER = Planner.DEFAULT;

    static TargetPolicy rpo(Duration rpo) {
        return new TargetPolicy(new Cadence.Rpo(rpo), rpo, 3, Optional.empty(), Optional.empty());
    }

    static CycleRecord ok(Instant started, Duration took) {
        return new CycleRecord("sync", started, started.plus(took), Outcome.OK, false, Optional.of(started),
                Optional.empty(), false);
    }

    static CycleRecord failed(Instant started, Outcome outcome) {
        return new CycleRecord("sync", started, started.plusSeconds(2), outcome, false, Optional.empty(),
                Optional.of("connection refused"), false);
    }

    @Test
    void aNewTargetsFirstCopyStartsNow() {
        Planner.Next next = PLANNER.next(rpo(Duration.ofMinutes(5)), TargetState.fresh(T0), T0, ZONE, 1);
        assertEquals(T0, next.at());
        assertEquals("first copy", next.why());
    }

    @Test
    void anRpoTargetStartsEarlyEnoughToCommitBeforeItsPointAgesPastTheRpo() {
        Duration rpo = Duration.ofMinutes(10);
        TargetState state = TargetState.fresh(T0).after(ok(T0, Duration.ofSeconds(40)));
        Planner.Next next = PLANNER.next(rpo(rpo), state, T0.plusSeconds(41), ZONE, 7);
        // 10 min, less 1.5 x 40 s, less a tenth of the RPO (60 s), less a jitter of at most 30 s (RPO/20).
        Instant latest = T0.plus(rpo).minusSeconds(60 + 60);
        assertTrue(!next.at().isAfter(latest) && !next.at().isBefore(latest.minusSeconds(30)), next.toString());
        assertEquals(next, PLANNER.next(rpo(rpo), state, T0.plusSeconds(100), ZONE, 7), "the same on every look");
    }

    @Test
    void slowerCyclesStartEarlier() {
        Duration rpo = Duration.ofHours(1);
        TargetState fast = TargetState.fresh(T0).after(ok(T0, Duration.ofSeconds(30)));
        TargetState slow = TargetState.fresh(T0).after(ok(T0, Duration.ofMinutes(20)));
        Instant now = T0.plus(Duration.ofMinutes(21));
        assertEquals(Duration.ofMinutes(30).minusSeconds(45),
                Duration.between(PLANNER.next(rpo(rpo), slow, now, ZONE, 3).at(), PLANNER.next(rpo(rpo), fast, now, ZONE, 3).at()));
    }

    @Test
    void transientFailuresBackOffDoublingToTenMinutesWithJitter() {
        TargetState state = TargetState.fresh(T0).after(ok(T0, Duration.ofSeconds(10)));
        Instant t = T0.plusSeconds(60);
        long[] expected = {30, 60, 120, 240, 480, 600, 600};
        for (long base : expected) {
            state = state.after(failed(t, Outcome.TRANSIENT));
            Planner.Next next = PLANNER.next(rpo(Duration.ofHours(1)), state, t.plusSeconds(2), ZONE, 42);
            long wait = Duration.between(t.plusSeconds(2), next.at()).toMillis();
            assertTrue(wait >= base * 800 && wait <= base * 1200, base + " s base, waited " + wait + " ms");
            t = next.at();
        }
    }

    @Test
    void retriesOfAShortRpoAreAtMostHalfItApart() {
        TargetState state = TargetState.fresh(T0).after(ok(T0, Duration.ofSeconds(10)));
        Instant t = T0.plusSeconds(60);
        for (int i = 0; i < 6; i++) {
            state = state.after(failed(t, Outcome.TRANSIENT));
            Planner.Next next = PLANNER.next(rpo(Duration.ofMinutes(2)), state, t.plusSeconds(2), ZONE, 42);
            long wait = Duration.between(t.plusSeconds(2), next.at()).toSeconds();
            assertTrue(wait >= 24 && wait <= 60, "waited " + wait + " s");
            t = next.at();
        }
        // An RPO under twice the first wait keeps the first wait.
        Planner.Next next = PLANNER.next(rpo(Duration.ofSeconds(40)), state, t.plusSeconds(2), ZONE, 42);
        assertTrue(Duration.between(t.plusSeconds(2), next.at()).toSeconds() <= 36);
    }

    @Test
    void aPermanentFailureIsRetriedHourlyNotInAStorm() {
        TargetState state = TargetState.fresh(T0).after(failed(T0, Outcome.PERMANENT));
        Planner.Next next = PLANNER.next(rpo(Duration.ofMinutes(5)), state, T0.plusSeconds(3), ZONE, 1);
        assertEquals(T0.plusSeconds(2).plus(Duration.ofHours(1)), next.at());
    }

    @Test
    void aSuccessEndsTheBackoff() {
        TargetState state = TargetState.fresh(T0).after(failed(T0, Outcome.TRANSIENT))
                .after(failed(T0.plusSeconds(40), Outcome.TRANSIENT)).after(ok(T0.plusSeconds(120), Duration.ofSeconds(5)));
        assertEquals(0, state.consecutiveFailures());
        Planner.Next next = PLANNER.next(rpo(Duration.ofMinutes(5)), state, T0.plusSeconds(126), ZONE, 1);
        assertTrue(next.why().startsWith("RPO"), next.toString());
    }

    @Test
    void continuousCyclesRunBackToBackAfterAGap() {
        TargetPolicy policy = new TargetPolicy(new Cadence.Continuous(Duration.ofSeconds(10)), Duration.ofMinutes(15),
                3, Optional.empty(), Optional.empty());
        TargetState state = TargetState.fresh(T0).after(ok(T0, Duration.ofSeconds(50)));
        assertEquals(T0.plusSeconds(60), PLANNER.next(policy, state, T0.plusSeconds(50), ZONE, 1).at());
    }

    @Test
    void aCalendarScheduleRunsAtItsTimesAndCatchesUpOnAMissedOne() {
        TargetPolicy policy = new TargetPolicy(new Cadence.Calendar(CalendarSchedule.parse("daily 02:00")),
                Duration.ofDays(1), 3, Optional.empty(), Optional.empty());
        Instant lastNight = ZonedDateTime.of(2026, 12, 2, 2, 0, 0, 0, ZONE).toInstant();
        TargetState state = TargetState.fresh(lastNight).after(ok(lastNight, Duration.ofMinutes(3)));
        assertEquals(ZonedDateTime.of(2026, 12, 3, 2, 0, 0, 0, ZONE).toInstant(),
                PLANNER.next(policy, state, T0, ZONE, 1).at());
        // The agent was down over the next 02:00: due as soon as it looks.
        Instant later = ZonedDateTime.of(2026, 12, 3, 9, 0, 0, 0, ZONE).toInstant();
        assertTrue(!PLANNER.next(policy, state, later, ZONE, 1).at().isAfter(later));
    }

    @Test
    void cyclesStartOnlyInsideTheWindow() {
        TargetPolicy policy = new TargetPolicy(new Cadence.Rpo(Duration.ofHours(1)), Duration.ofHours(1), 3,
                Optional.of(Window.parse("Mon-Fri 20:00-06:00")), Optional.empty());
        Planner.Next next = PLANNER.next(policy, TargetState.fresh(T0), T0, ZONE, 1); // Wednesday 10:00
        assertEquals(ZonedDateTime.of(2026, 12, 2, 20, 0, 0, 0, ZONE).toInstant(), next.at());
        Instant friday23 = ZonedDateTime.of(2026, 12, 4, 23, 0, 0, 0, ZONE).toInstant();
        assertEquals(friday23, PLANNER.next(policy, TargetState.fresh(friday23), friday23, ZONE, 1).at());
        Instant saturday10 = ZonedDateTime.of(2026, 12, 5, 10, 0, 0, 0, ZONE).toInstant();
        assertEquals(ZonedDateTime.of(2026, 12, 7, 20, 0, 0, 0, ZONE).toInstant(),
                PLANNER.next(policy, TargetState.fresh(saturday10), saturday10, ZONE, 1).at(), "Monday evening");
    }

    @Test
    void aScheduledVerifyComesWhenItIsDueBeforeTheNextSync() {
        TargetPolicy policy = new TargetPolicy(new Cadence.Rpo(Duration.ofHours(1)), Duration.ofHours(1), 3,
                Optional.empty(), Optional.of(Duration.ofDays(7)));
        TargetState state = TargetState.fresh(T0).after(ok(T0, Duration.ofMinutes(1)));
        assertEquals(Planner.Kind.SYNC, PLANNER.next(policy, state, T0.plusSeconds(61), ZONE, 1).kind());
        Instant weekLater = T0.plus(Duration.ofDays(7));
        TargetState recent = state.after(ok(weekLater.minusSeconds(300), Duration.ofMinutes(1)));
        Planner.Next next = PLANNER.next(policy, recent, weekLater, ZONE, 1);
        assertEquals(Planner.Kind.VERIFY, next.kind());
        assertEquals(T0.plus(Duration.ofDays(7)), next.at());
    }

    @Test
    void aScheduledBootCheckComesWhenDueAndCountsFromTheLastCheck() {
        TargetPolicy policy = new TargetPolicy(new Cadence.Rpo(Duration.ofHours(1)), Duration.ofHours(1), 3,
                Optional.empty(), Optional.empty(), Optional.of(Duration.ofDays(1)));
        TargetState state = TargetState.fresh(T0).after(ok(T0, Duration.ofMinutes(1)));
        assertEquals(Planner.Kind.SYNC, PLANNER.next(policy, state, T0.plusSeconds(61), ZONE, 1).kind());
        Instant dayLater = T0.plus(Duration.ofDays(1));
        TargetState recent = state.after(ok(dayLater.minusSeconds(300), Duration.ofMinutes(1)));
        Planner.Next next = PLANNER.next(policy, recent, dayLater, ZONE, 1);
        assertEquals(Planner.Kind.BOOT_CHECK, next.kind());
        assertEquals(dayLater, next.at());
        assertEquals("boot-check", next.kind().label());

        CycleRecord check = new CycleRecord(CycleRecord.BOOT_CHECK, dayLater, dayLater.plusSeconds(40), Outcome.OK,
                false, Optional.empty(), Optional.empty(), false, Optional.of(new BootOutcome("verified", 4, "up")));
        TargetState checked = recent.after(check);
        assertEquals(Optional.of(dayLater.plusSeconds(40)), checked.lastBootCheck());
        assertEquals(recent.lastPoint(), checked.lastPoint(), "a boot check commits no point");
        assertEquals(Planner.Kind.SYNC, PLANNER.next(policy, checked, dayLater.plusSeconds(41), ZONE, 1).kind());
    }

    @Test
    void theTargetNearestToMissingItsRpoHasTheLeastSlack() {
        TargetState fiveMinutesOld = TargetState.fresh(T0).after(ok(T0, Duration.ofSeconds(10)));
        Instant now = T0.plus(Duration.ofMinutes(5));
        Duration tight = Planner.slack(rpo(Duration.ofMinutes(6)), fiveMinutesOld, now);
        Duration loose = Planner.slack(rpo(Duration.ofHours(1)), fiveMinutesOld, now);
        assertTrue(tight.compareTo(loose) < 0);
        assertEquals(Duration.ZERO, Planner.slack(rpo(Duration.ofHours(1)), TargetState.fresh(T0), now));
    }
}
