package dev.standin.agent.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.supervisor.catalog.Catalog;
import dev.standin.supervisor.catalog.CatalogException;
import dev.standin.supervisor.policy.CycleRecord;
import dev.standin.supervisor.policy.Durations;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code standin history [VM]}: the cycles the catalog holds, newest first. */
@Command(name = "history", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Lists the cycles the agent ran, newest first: start, duration, result, bytes read and sent, "
                + "change tracking, and the error. Asks the running agent.")
final class HistoryCommand implements Callable<Integer> {

    @ParentCommand
    private Main main;

    @Parameters(index = "0", arity = "0..1", paramLabel = "VM", description = "Only this VM.")
    private String vm;

    @Option(names = "--since", paramLabel = "TIME",
            description = "Only cycles that ended since TIME: an ISO-8601 instant (2026-12-01T00:00:00Z) or an age "
                    + "(2h, 7d).")
    private String since;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "50", description = "At most N cycles (default: ${DEFAULT-VALUE}).")
    private int limit;

    @Option(names = "--json", description = "One JSON object per line.")
    private boolean json;

    @Override
    public Integer call() throws StandinException {
        Catalog catalog = Supervised.of(main.invocation(), "history").catalog();
        Optional<Instant> from = Optional.ofNullable(since).map(this::instant);
        List<Catalog.Row> rows;
        try {
            rows = catalog.history(Optional.ofNullable(vm), from, limit);
        } catch (CatalogException e) {
            throw new StandinException(ExitStatus.ERROR, e.getMessage(), e);
        }
        PrintWriter out = main.invocation().out();
        DateTimeFormatter clock = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.systemDefault());
        ObjectMapper mapper = new ObjectMapper();
        if (!json) {
            out.printf("%-19s %-12s %-28s %-6s %-9s %-9s %10s %10s %-12s %-7s %s%n", "STARTED", "VM", "TARGET", "KIND",
                    "TOOK", "RESULT", "READ", "SENT", "TRACKING", "POINT", "ERROR");
        }
        for (Catalog.Row row : rows) {
            Catalog.Cycle c = row.cycle();
            CycleRecord r = c.record();
            if (json) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("id", row.id());
                o.put("vm", c.vm());
                o.put("target", c.target());
                o.put("kind", r.kind());
                o.put("started", r.started().toString());
                o.put("seconds", r.duration().toMillis() / 1000.0);
                o.put("result", r.outcome().label());
                o.put("firstCopy", r.firstCopy());
                o.put("bytesRead", c.bytesRead());
                o.put("bytesSent", c.bytesSent());
                o.put("tracking", c.tracking().orElse(null));
                o.put("points", c.points());
                o.put("pointTime", r.pointTime().map(Instant::toString).orElse(null));
                o.put("error", r.error().orElse(null));
                c.scrub().ifPresent(s -> o.put("scrub", Map.of("blocksChecked", s.blocksChecked(),
                        "blocksRepaired", s.blocksRepaired(), "drifted", s.drifted())));
                try {
                    out.println(mapper.writeValueAsString(o));
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    throw new StandinException(ExitStatus.ERROR, "cannot write JSON: " + e.getMessage(), e);
                }
            } else {
                out.printf("%-19s %-12s %-28s %-6s %-9s %-9s %10s %10s %-12s %-7s %s%n", clock.format(r.started()), c.vm(),
                        c.target(), r.kind(), Durations.format(r.duration().plusMillis(500).withNanos(0)),
                        r.outcome().label() + (r.firstCopy() ? "*" : ""), StatsReport.bytes(c.bytesRead()),
                        StatsReport.bytes(c.bytesSent()), c.tracking().orElse("-"), c.points().isEmpty() ? "-"
                        : c.points().stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(",")),
                        r.error().orElse(""));
            }
        }
        out.flush();
        return ExitStatus.OK.code();
    }

    private Instant instant(String text) {
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            try {
                return Instant.now().minus(Durations.parse(text));
            } catch (IllegalArgumentException x) {
                throw new IllegalArgumentException("--since " + text + ": an ISO-8601 instant "
                        + "(2026-12-01T00:00:00Z) or an age (2h, 7d)");
            }
        }
    }
}
