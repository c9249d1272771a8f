package dev.standin.agent;

import dev.standin.agent.transport.SshOptions;
import dev.standin.supervisor.policy.Durations;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rates and sizes as users write them, on the command line and in the supervisor's file alike.
 * Each parser throws IllegalArgumentException with the reason in words.
 */
public final class Units {

    private static final Pattern RATE = Pattern.compile("(\\d+(?:\\.\\d*)?|\\.\\d+)([BKMGTP]?)(I?B)?");
    private static final long MIN_RATE = 1024;

    private Units() {
    }

    /**
     * A bandwidth limit as rsync reads {@code --bwlimit}, in bytes per second: a number, possibly
     * fractional, and a unit. Without a unit the number is KiB/s ({@code 500} is 500 KiB/s).
     * {@code K}, {@code M}, {@code G}, {@code T}, {@code P}, alone or followed by {@code iB}, are
     * powers of 1024; followed by {@code B} alone ({@code KB}, {@code MB}) they are powers of 1000;
     * {@code B} is bytes. Case does not matter. Unlike rsync, {@code 0} is refused (rsync reads it
     * as "no limit"; here that is said by leaving the option out), and so is any rate under
     * 1 KiB/s, which rsync cannot express either. rsync's {@code +1}/{@code -1} offsets are not
     * accepted: one byte per second is no meaningful change to a rate.
     */
    public static long rate(String value) {
        Matcher m = RATE.matcher(value.trim().toUpperCase(Locale.ROOT));
        if (!m.matches() || (m.group(3) != null && m.group(2).isEmpty())
                || (m.group(2).equals("B") && m.group(3) != null)) {
            throw new IllegalArgumentException("'" + value + "' is not a rate (e.g. 500 for 500 KiB/s, 10M, 1.5MB)");
        }
        String unit = m.group(2);
        boolean decimal = "B".equals(m.group(3));
        BigDecimal multiplier = unit.isEmpty() ? BigDecimal.valueOf(1024)
                : BigDecimal.valueOf(decimal ? 1000 : 1024).pow("BKMGTP".indexOf(unit));
        BigDecimal bytes = new BigDecimal(m.group(1)).multiply(multiplier);
        if (bytes.signum() == 0) {
            throw new IllegalArgumentException("'" + value + "': a zero rate would send nothing; for no limit, leave "
                    + "--bwlimit out");
        }
        if (bytes.compareTo(BigDecimal.valueOf(MIN_RATE)) < 0) {
            throw new IllegalArgumentException("'" + value + "' is under the smallest limit, 1 KiB/s");
        }
        if (bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw new IllegalArgumentException("'" + value + "' is too large a rate");
        }
        return bytes.longValue();
    }

    /** Sizes: 4096, 64K, 1M. */
    public static int size(String value) {
        String v = value.trim().toUpperCase(Locale.ROOT);
        long unit = 1;
        if (v.endsWith("K")) {
            unit = 1024;
        } else if (v.endsWith("M")) {
            unit = 1024 * 1024;
        }
        if (unit != 1) {
            v = v.substring(0, v.length() - 1);
        }
        try {
            long size = Long.parseLong(v) * unit;
            if (size <= 0 || size > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("'" + value + "' is not a usable size");
            }
            return (int) size;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + value + "' is not a size (e.g. 4096, 64K, 1M)");
        }
    }

    /**
     * An I/O timeout ({@code --timeout}, the {@code timeout} key): {@code 0} for none, a bare number
     * of seconds as rsync reads its {@code --timeout}, or a duration ({@code 90s}, {@code 10m});
     * at least {@link SshOptions#MIN_IO_TIMEOUT}.
     */
    public static Duration timeout(String value) {
        String v = value.strip();
        return SshOptions.checkTimeout(v.matches("\\d+") ? Duration.ofSeconds(Long.parseLong(v)) : Durations.parse(v),
                value);
    }
}
