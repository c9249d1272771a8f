package dev.standin.supervisor.policy;

import java.time.DayOfWeek;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/** A set of weekdays as written in a schedule: {@code Mon-Fri}, {@code Sat,Sun}, {@code daily}. */
public record Days(Set<DayOfWeek> days) {

    public static final Days EVERY = new Days(EnumSet.allOf(DayOfWeek.class));

    public Days {
        days = Set.copyOf(days);
    }

    public boolean contains(DayOfWeek day) {
        return days.contains(day);
    }

    /** {@code Mon-Fri}, {@code Mon,Wed,Fri}, {@code Sat-Sun}, {@code Fri-Mon} (wrapping), {@code daily}. */
    public static Days parse(String text) {
        String t = text.strip();
        if (t.equalsIgnoreCase("daily") || t.equals("*")) {
            return EVERY;
        }
        EnumSet<DayOfWeek> set = EnumSet.noneOf(DayOfWeek.class);
        for (String part : t.split(",")) {
            int dash = part.indexOf('-');
            if (dash < 0) {
                set.add(day(part, text));
            } else {
                DayOfWeek from = day(part.substring(0, dash), text);
                DayOfWeek to = day(part.substring(dash + 1), text);
                for (DayOfWeek d = from; ; d = d.plus(1)) {
                    set.add(d);
                    if (d == to) {
                        break;
                    }
                }
            }
        }
        return new Days(set);
    }

    private static DayOfWeek day(String name, String whole) {
        String n = name.strip().toLowerCase(Locale.ROOT);
        for (DayOfWeek d : DayOfWeek.values()) {
            if (n.length() >= 3 && d.name().toLowerCase(Locale.ROOT).startsWith(n)) {
                return d;
            }
        }
        throw new IllegalArgumentException("'" + whole + "': '" + name.strip() + "' is not a day; write Mon, Tue, ... Sun, "
                + "ranges like Mon-Fri, or daily");
    }
}
