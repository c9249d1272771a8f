package dev.standin.supervisor.policy;

import java.time.Duration;
import java.time.LocalTime;
import java.time.ZonedDateTime;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

/**
 * Calendar start times, in local time, as systemd's OnCalendar shorthands read: {@code "daily 02:00"},
 * {@code "Mon-Fri 02:00,14:00"}, {@code "Sun 03:30"}, {@code "hourly"} (at :00), {@code "hourly :15"}.
 */
public record CalendarSchedule(Days days, List<LocalTime> times, boolean hourly, String text) {

    public CalendarSchedule {
        times = List.copyOf(times);
    }

    public static CalendarSchedule parse(String text) {
        String t = text.strip();
        String[] words = t.split("\\s+");
        try {
            if (words[0].equalsIgnoreCase("hourly")) {
                int minute = words.length > 1 ? Integer.parseInt(words[1].replace(":", "")) : 0;
                if (words.length > 2 || minute < 0 || minute > 59) {
                    throw new IllegalArgumentException();
                }
                return new CalendarSchedule(Days.EVERY, List.of(LocalTime.of(0, minute)), true, text);
            }
            if (words.length != 2) {
                throw new IllegalArgumentException();
            }
            List<LocalTime> times = new ArrayList<>();
            for (String time : words[1].split(",")) {
                times.add(LocalTime.parse(time));
            }
            times.sort(null);
            return new CalendarSchedule(Days.parse(words[0]), times, false, text);
        } catch (DateTimeParseException | NumberFormatException e) {
            throw bad(text);
        } catch (IllegalArgumentException e) {
            throw e.getMessage() != null ? e : bad(text);
        }
    }

    private static IllegalArgumentException bad(String text) {
        return new IllegalArgumentException("'" + text + "' is not a schedule; write e.g. \"daily 02:00\", "
                + "\"Mon-Fri 02:00,14:00\" or \"hourly :15\"");
    }

    /** The first start strictly after {@code t}. */
    public ZonedDateTime next(ZonedDateTime t) {
        if (hourly) {
            ZonedDateTime candidate = t.truncatedTo(ChronoUnit.HOURS).withMinute(times.get(0).getMinute());
            return candidate.isAfter(t) ? candidate : candidate.plusHours(1);
        }
        ZonedDateTime day = t.truncatedTo(ChronoUnit.DAYS);
        for (int i = 0; i <= 8; i++) {
            ZonedDateTime d = day.plusDays(i);
            if (!days.contains(d.getDayOfWeek())) {
                continue;
            }
            for (LocalTime time : times) {
                ZonedDateTime candidate = d.with(time);
                if (candidate.isAfter(t)) {
                    return candidate;
                }
            }
        }
        throw new IllegalStateException("schedule " + text + " never starts");
    }

    /** The longest time between two starts: the recovery point objective a schedule implies. */
    public Duration longestGap(ZonedDateTime from) {
        Duration longest = Duration.ZERO;
        ZonedDateTime a = next(from);
        for (int i = 0; i < 7 * Math.max(1, times.size()) + 1 && !hourly; i++) {
            ZonedDateTime b = next(a);
            Duration gap = Duration.between(a, b);
            if (gap.compareTo(longest) > 0) {
                longest = gap;
            }
            a = b;
        }
        return hourly ? Duration.ofHours(1) : longest;
    }
}
