package dev.standin.supervisor.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import org.junit.jupiter.api.Test;

/** Durations, windows and calendar schedules as written in the file. */
class TimeGrammarTest {

    static final ZoneId ZONE = ZoneId.of("UTC");

    static ZonedDateTime at(int day, int hour, int minute) {
        return ZonedDateTime.of(2026, 11, 30, hour, minute, 0, 0, ZONE).plusDays(day); // day 0: Monday 30 November
    }

    @Test
    void durations() {
        assertEquals(Duration.ofMinutes(5), Durations.parse("5m"));
        assertEquals(Duration.ofMinutes(90), Durations.parse("1h30m"));
        assertEquals(Duration.ofDays(14), Durations.parse("2w"));
        assertEquals("1h30m", Durations.format(Duration.ofMinutes(90)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Durations.parse("5 minutes"));
        assertTrue(e.getMessage().contains("'5 minutes' is not a duration"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("5"));
    }

    @Test
    void aWindowAcrossMidnightBelongsToTheDayItOpens() {
        Window w = Window.parse("Mon-Fri 20:00-06:00");
        assertTrue(w.contains(at(0, 20, 0)));
        assertTrue(w.contains(at(1, 5, 59)), "Tuesday morning, after Monday evening");
        assertFalse(w.contains(at(1, 6, 0)));
        assertFalse(w.contains(at(0, 5, 0)), "Monday morning follows Sunday, which is not in it");
        assertTrue(w.contains(at(5, 3, 0)), "Saturday morning follows Friday evening");
        assertFalse(w.contains(at(5, 20, 0)));
        assertEquals(at(7, 20, 0), w.nextOpen(at(5, 12, 0)));
        assertTrue(Window.parse("Sat,Sun").contains(at(6, 13, 0)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Window.parse("Mon-Fry 20:00-06:00"));
        assertTrue(e.getMessage().contains("'Fry' is not a day"), e.getMessage());
    }

    @Test
    void calendarSchedules() {
        CalendarSchedule daily = CalendarSchedule.parse("daily 02:00");
        assertEquals(at(1, 2, 0), daily.next(at(0, 2, 0)));
        assertEquals(Duration.ofDays(1), daily.longestGap(at(0, 0, 0)));
        CalendarSchedule weekdays = CalendarSchedule.parse("Mon-Fri 02:00,14:00");
        assertEquals(at(0, 14, 0), weekdays.next(at(0, 2, 0)));
        assertEquals(at(7, 2, 0), weekdays.next(at(4, 14, 0)), "Friday afternoon to Monday night");
        assertEquals(Duration.ofHours(60), weekdays.longestGap(at(0, 0, 0)));
        CalendarSchedule hourly = CalendarSchedule.parse("hourly :15");
        assertEquals(at(0, 11, 15), hourly.next(at(0, 10, 15)));
        assertThrows(IllegalArgumentException.class, () -> CalendarSchedule.parse("every night"));
    }

    @Test
    void backoffStaysWithinItsJitterAndIsTheSameForTheSameTry() {
        for (long seed = 0; seed < 1000; seed++) {
            long ms = Backoff.DEFAULT.after(1, seed).toMillis();
            assertTrue(ms >= 24_000 && ms <= 36_000, ms + " ms");
            assertEquals(Backoff.DEFAULT.after(3, seed), Backoff.DEFAULT.after(3, seed));
        }
    }
}
