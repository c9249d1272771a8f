package dev.standin.supervisor.policy;

import java.time.Duration;

/** When a target's cycles start: to keep its newest point within an RPO, back to back, or at calendar times. */
public sealed interface Cadence {

    /** Start each cycle early enough that it commits before the newest point ages past {@code rpo}. */
    record Rpo(Duration rpo) implements Cadence { }

    /** Back-to-back cycles, at least {@code gap} apart. */
    record Continuous(Duration gap) implements Cadence { }

    /** At calendar times; a start missed while the agent was down runs as soon as it is back. */
    record Calendar(CalendarSchedule schedule) implements Cadence { }
}
