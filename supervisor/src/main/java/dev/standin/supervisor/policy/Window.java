package dev.standin.supervisor.policy;

import java.time.LocalTime;
import java.time.ZonedDateTime;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;

/**
 * Hours of the week, in local time: {@code "Mon-Fri 20:00-06:00"} is from 20:00 on each weekday
 * to 06:00 the next morning (a window that crosses midnight belongs to the day it opens on);
 * {@code "daily 01:00-05:00"}; {@code "Sat,Sun"} is the whole of both days.
 */
public record Window(Days days, LocalTime opens, LocalTime closes, String text) {

    public static Window parse(String text) {
        String t = text.strip();
        int space = t.lastIndexOf(' ');
        String dayPart = space < 0 ? t : t.substring(0, space);
        String hourPart = space < 0 ? "" : t.substring(space + 1);
        if (space < 0 && t.contains(":")) { // "20:00-06:00": every day
            dayPart = "daily";
            hourPart = t;
        }
        if (hourPart.isEmpty()) {
            return new Window(Days.parse(dayPart), LocalTime.MIDNIGHT, LocalTime.MIDNIGHT, text);
        }
        int dash = hourPart.indexOf('-');
        if (dash < 0) {
            throw new IllegalArgumentException("'" + text + "' is not a window; write e.g. \"Mon-Fri 20:00-06:00\"");
        }
        try {
            return new Window(Days.parse(dayPart), LocalTime.parse(hourPart.substring(0, dash)),
                    LocalTime.parse(hourPart.substring(dash + 1)), text);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("'" + text + "': times are HH:MM, e.g. \"Mon-Fri 20:00-06:00\"");
        }
    }

    private boolean wholeDay() {
        return opens.equals(closes);
    }

    /** Whether {@code t} is inside the window. */
    public boolean contains(ZonedDateTime t) {
        LocalTime time = t.toLocalTime();
        if (wholeDay()) {
            return days.contains(t.getDayOfWeek());
        }
        if (opens.isBefore(closes)) {
            return days.contains(t.getDayOfWeek()) && !time.isBefore(opens) && time.isBefore(closes);
        }
        // Crosses midnight: the evening of an included day, or the morning after one.
        return (days.contains(t.getDayOfWeek()) && !time.isBefore(opens))
                || (days.contains(t.getDayOfWeek().minus(1)) && time.isBefore(closes));
    }

    /** {@code t} if inside, else the next time the window opens (within 8 days: every window opens weekly). */
    public ZonedDateTime nextOpen(ZonedDateTime t) {
        if (contains(t)) {
            return t;
        }
        ZonedDateTime day = t.truncatedTo(ChronoUnit.DAYS);
        for (int i = 0; i <= 8; i++) {
            ZonedDateTime candidate = day.plusDays(i).with(opens);
            if (candidate.isAfter(t) && days.contains(candidate.getDayOfWeek())) {
                return candidate;
            }
        }
        throw new IllegalStateException("window " + text + " never opens");
    }
}
