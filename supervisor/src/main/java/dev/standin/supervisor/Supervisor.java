package dev.standin.supervisor;

import dev.standin.supervisor.catalog.Catalog;
import dev.standin.supervisor.catalog.CatalogException;
import dev.standin.supervisor.config.SupervisorConfig;
import dev.standin.supervisor.config.SupervisorConfig.Target;
import dev.standin.supervisor.config.SupervisorConfig.Vm;
import dev.standin.supervisor.metrics.SupervisorMetrics;
import dev.standin.supervisor.policy.BootOutcome;
import dev.standin.supervisor.policy.CycleRecord;
import dev.standin.supervisor.policy.Health;
import dev.standin.supervisor.policy.HealthRules;
import dev.standin.supervisor.policy.Outcome;
import dev.standin.supervisor.policy.Planner;
import dev.standin.supervisor.policy.TargetState;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Protects the VMs of a {@link SupervisorConfig}: decides with {@link Planner} when each target's
 * next cycle starts, runs at most {@code max-parallel} at once (the target nearest to missing its
 * RPO first, never two of one target), records each in the {@link Catalog}, judges health with
 * {@link HealthRules} and reports changes to the log, the catalog, the metrics and
 * {@code on-health-change}. Time comes from the injected clock only.
 *
 * <p>One scheduler thread evaluates every target after each event (a cycle's end, a command, a
 * reload) and at least once a second, since health changes with time alone.
 */
public final class Supervisor implements AutoCloseable {

    private static final Duration TICK = Duration.ofSeconds(1);
    /** The catalog keeps 90 days and at most a million cycles (35 VMs at a 5-minute RPO: ~10,000 a day). */
    private static final Duration CATALOG_AGE = Duration.ofDays(90);
    private static final int CATALOG_CYCLES = 1_000_000;

    private final CycleRunner runner;
    private final Catalog catalog;
    private final SupervisorMetrics metrics;
    private final Clock clock;
    private final SupervisorLog log;
    private final ExecutorService cycles;
    private final ExecutorService hooks = Executors.newSingleThreadExecutor(named("standin-health-hook"));
    private final Map<Key, Tracked> targets = new LinkedHashMap<>();
    private final Set<String> paused = new HashSet<>();
    private SupervisorConfig config;
    private Thread scheduler;
    private boolean closed;
    private Instant pruned = Instant.EPOCH;

    /** A target of a VM: what cycles, state and metrics are kept by. */
    public record Key(String vm, String dest) { }

    /** One target's state between events; guarded by the supervisor's lock. */
    private static final class Tracked {
        Vm vm;
        Target target;
        TargetState state;
        Health health;
        String reason = "";
        boolean running;
        Instant runningSince;
        Planner.Kind runningKind;
        Planner.Next next;
        boolean forced;
        /** What 'standin run' asked for: a sync, or a boot check. */
        Planner.Kind forcedKind = Planner.Kind.SYNC;
        /** Waiting for the cycle that runs now; {@code queued}: for the next one, which starts after this call. */
        final List<CompletableFuture<CycleResult>> waiters = new ArrayList<>();
        final List<CompletableFuture<CycleResult>> queued = new ArrayList<>();
        final long seed;
        /** The running cycle's phase, written by its thread, read by status. */
        volatile String phase;
        volatile long phaseTotal;
        volatile long phaseDone;
        volatile Instant phaseStarted;

        Tracked(Vm vm, Target target, TargetState state, Health health) {
            this.vm = vm;
            this.target = target;
            this.state = state;
            this.health = health;
            this.seed = (vm.name() + "\0" + target.dest()).hashCode() * 0x9E3779B97F4A7C15L;
        }
    }

    public Supervisor(SupervisorConfig config, CycleRunner runner, Catalog catalog, SupervisorMetrics metrics,
            Clock clock, SupervisorLog log) throws CatalogException {
        this.runner = runner;
        this.catalog = catalog;
        this.metrics = metrics;
        this.clock = clock;
        this.log = log;
        this.cycles = Executors.newCachedThreadPool(named("standin-cycle"));
        this.paused.addAll(catalog.paused());
        apply(config);
    }

    /** Recovers what a killed agent left ({@link CycleRunner#recover}), then starts scheduling. */
    public synchronized void start() {
        List<Vm> vms = targets.values().stream().map(t -> t.vm).distinct().toList();
        for (String line : runner.recover(vms, config.replicaRoots())) {
            log.info("start-up: " + line);
        }
        scheduler = new Thread(this::schedule, "standin-scheduler");
        scheduler.start();
    }

    private void schedule() {
        while (true) {
            synchronized (this) {
                if (closed) {
                    return;
                }
                Instant wake = step(clock.instant());
                long millis = Math.max(1, Math.min(TICK.toMillis(), Duration.between(clock.instant(), wake).toMillis()));
                try {
                    wait(millis);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    /**
     * One evaluation at {@code now}: health of every target (changes reported), then the due
     * cycles started by slack within {@code max-parallel}. Returns when to look again.
     */
    synchronized Instant step(Instant now) {
        Instant wake = now.plus(TICK);
        if (now.isAfter(pruned.plus(Duration.ofDays(1)))) {
            pruned = now;
            try {
                catalog.prune(now, CATALOG_AGE, CATALOG_CYCLES);
            } catch (CatalogException e) {
                log.error(e.getMessage());
            }
        }
        List<Tracked> due = new ArrayList<>();
        for (Map.Entry<Key, Tracked> e : targets.entrySet()) {
            Tracked t = e.getValue();
            judge(e.getKey(), t, now);
            if (t.running) {
                continue;
            }
            t.next = next(t, now);
            if (paused.contains(t.vm.name()) && !t.forced) {
                continue;
            }
            if (!t.next.at().isAfter(now)) {
                due.add(t);
            } else if (t.next.at().isBefore(wake)) {
                wake = t.next.at();
            }
        }
        due.sort(Comparator.comparing((Tracked t) -> Planner.slack(t.target.policy(), t.state, now)));
        long running = targets.values().stream().filter(t -> t.running).count();
        for (Tracked t : due) {
            if (running >= config.maxParallel()) {
                break;
            }
            launch(t, now);
            running++;
        }
        return wake;
    }

    /** When and why {@code t}'s next cycle starts: now if 'standin run' asked, else as its policy says. */
    private Planner.Next next(Tracked t, Instant now) {
        return t.forced ? new Planner.Next(now, t.forcedKind, "standin run")
                : config.planner().next(t.target.policy(), t.state, now, clock.getZone(), t.seed);
    }

    private void judge(Key key, Tracked t, Instant now) {
        HealthRules.Verdict v = HealthRules.judge(t.target.policy(), t.state, paused.contains(t.vm.name()), now);
        t.reason = v.reason();
        if (v.health() == t.health) {
            return;
        }
        Health previous = t.health;
        t.health = v.health();
        metrics.health(key.vm(), key.dest(), v.health());
        String line = key.vm() + " " + key.dest() + ": " + previous.label() + " -> " + v.health().label() + ": "
                + v.reason();
        if (v.health().compareTo(Health.WARNING) >= 0) {
            log.warning(line);
        } else {
            log.info(line);
        }
        try {
            catalog.recordHealth(key.vm(), key.dest(), now, v.health(), previous, v.reason());
        } catch (CatalogException e) {
            log.error(e.getMessage());
        }
        config.onHealthChange().ifPresent(program -> {
            HealthHook hook = new HealthHook(program, config.hookTimeout(), log);
            hooks.submit(() -> hook.run(key.vm(), key.dest(), v.health(), previous, v.reason()));
        });
    }

    private void launch(Tracked t, Instant now) {
        t.running = true;
        t.runningSince = now;
        t.runningKind = t.next.kind();
        t.forced = false;
        t.forcedKind = Planner.Kind.SYNC;
        t.waiters.addAll(t.queued);
        t.queued.clear();
        Key key = new Key(t.vm.name(), t.target.dest());
        metrics.running(key.vm(), key.dest(), true);
        log.info(key.vm() + " " + key.dest() + ": " + t.runningKind.label()
                + " starts (" + t.next.why() + ")");
        Vm vm = t.vm;
        Target target = t.target;
        Planner.Kind kind = t.runningKind;
        t.phase = null;
        CycleProgress progress = new CycleProgress() {
            @Override
            public void phase(String name, long total) {
                t.phaseTotal = total;
                t.phaseDone = 0;
                t.phaseStarted = clock.instant();
                t.phase = name;
            }

            @Override
            public void done(long bytes) {
                t.phaseDone = bytes;
            }
        };
        String bwlimit = target.settings().bwlimit().map(b -> b.at(now.atZone(clock.getZone()))).orElse("0");
        cycles.submit(() -> {
            CycleResult result;
            try {
                result = runner.run(vm, target, kind, bwlimit, progress);
            } catch (InterruptedException e) {
                result = CycleResult.failed(Outcome.TRANSIENT, "interrupted: the agent is stopping");
            } catch (RuntimeException e) {
                result = CycleResult.failed(Outcome.TRANSIENT, "internal error: " + e);
            }
            finished(key, t, now, result);
        });
    }

    private synchronized void finished(Key key, Tracked t, Instant started, CycleResult result) {
        if (closed) {
            // Interrupted by the agent's stop: not the target's failure, and not to be retried with backoff
            // after the restart; the replica is where a killed process leaves it, and the next cycle recovers it.
            t.waiters.forEach(w -> w.complete(result));
            return;
        }
        Instant ended = clock.instant();
        boolean ok = result.outcome() == Outcome.OK;
        // The view is taken as the cycle starts: the point is of that instant. A boot check makes none.
        boolean committed = ok && t.runningKind != Planner.Kind.BOOT_CHECK;
        CycleRecord record = new CycleRecord(t.runningKind.label(), started, ended,
                result.outcome(), result.firstCopy(), committed ? Optional.of(started) : Optional.empty(),
                result.error(), result.needsResync(), result.boot());
        t.state = t.state.after(record);
        t.running = false;
        metrics.running(key.vm(), key.dest(), false);
        metrics.cycle(key.vm(), key.dest(), result.outcome().label(), record.duration(), result.bytesRead(),
                result.bytesSent());
        if (committed) {
            metrics.lastPoint(key.vm(), key.dest(), started);
        }
        result.boot().ifPresent(b -> metrics.bootCheck(key.vm(), key.dest(), b.verdict(), ended));
        try {
            catalog.record(new Catalog.Cycle(key.vm(), key.dest(), record, result.bytesRead(), result.bytesSent(),
                    result.tracking(), result.points(), result.scrub()));
        } catch (CatalogException e) {
            log.error(e.getMessage());
        }
        String took = Duration.between(started, ended).toMillis() / 1000.0 + " s";
        if (result.boot().isPresent()) {
            BootOutcome b = result.boot().get();
            String line = key.vm() + " " + key.dest() + ": boot check of VM point " + b.vmPoint() + " in " + took + ": "
                    + b.verdict() + ": " + b.reason();
            if (b.failed()) {
                log.warning(line);
            } else {
                log.info(line);
            }
        } else if (ok) {
            log.info(key.vm() + " " + key.dest() + ": " + record.kind() + " committed in " + took + ", "
                    + result.bytesSent() + " bytes sent");
        } else {
            log.warning(key.vm() + " " + key.dest() + ": " + record.kind() + " failed (" + result.outcome().label()
                    + ") after " + took + ": " + result.error().orElse("?"));
        }
        t.waiters.forEach(w -> w.complete(result));
        t.waiters.clear();
        notifyAll();
    }

    /**
     * Starts a cycle of {@code vm}'s targets (one if {@code dest} names it) as soon as a slot is
     * free, whatever their schedule, backoff or pause; each future completes with its result.
     */
    public synchronized List<CompletableFuture<CycleResult>> runNow(String vm, Optional<String> dest)
            throws UnknownTargetException {
        return runNow(vm, dest, Planner.Kind.SYNC);
    }

    /** As {@link #runNow(String, Optional)}, for a cycle of {@code kind} (a boot check: {@code standin run --boot-check}). */
    public synchronized List<CompletableFuture<CycleResult>> runNow(String vm, Optional<String> dest, Planner.Kind kind)
            throws UnknownTargetException {
        List<Tracked> matching = matching(vm, dest);
        List<CompletableFuture<CycleResult>> results = new ArrayList<>();
        for (Tracked t : matching) {
            t.forced = true;
            t.forcedKind = kind;
            CompletableFuture<CycleResult> f = new CompletableFuture<>();
            t.queued.add(f); // not the cycle running now: it started before this request
            results.add(f);
        }
        notifyAll();
        return results;
    }

    /** Pauses (or resumes) the scheduled cycles of {@code vm}; a running cycle finishes. Outlives the agent. */
    public synchronized void pause(String vm, boolean pause) throws UnknownTargetException, CatalogException {
        matching(vm, Optional.empty());
        catalog.setPaused(vm, pause, clock.instant());
        if (pause ? paused.add(vm) : paused.remove(vm)) {
            log.info(vm + ": " + (pause ? "paused" : "resumed"));
        }
        notifyAll();
    }

    private List<Tracked> matching(String vm, Optional<String> dest) throws UnknownTargetException {
        if (config.vm(vm).isEmpty()) {
            throw new UnknownTargetException("no VM named " + vm + " in " + config.file()
                    + (config.vms().isEmpty() ? " (it has none)" : "; it has " + String.join(", ",
                            config.vms().stream().map(Vm::name).toList())));
        }
        List<Tracked> found = targets.entrySet().stream().filter(e -> e.getKey().vm().equals(vm)
                && dest.map(d -> d.equals(e.getKey().dest())).orElse(true)).map(Map.Entry::getValue).toList();
        if (found.isEmpty()) {
            throw new UnknownTargetException("VM " + vm + " has no target " + dest.orElse("") + "; its targets are "
                    + String.join(", ", config.vm(vm).get().targets().stream().map(Target::dest).toList()));
        }
        return found;
    }

    /**
     * Puts {@code next} in force: targets it keeps keep their state (and a running cycle goes on),
     * new ones start from the catalog, removed ones are forgotten once their cycle ends.
     */
    public synchronized void reload(SupervisorConfig next) throws CatalogException {
        if (config != null && !config.metrics().equals(next.metrics())) {
            log.warning("metrics address changed in " + next.file() + "; it takes effect when the agent restarts");
        }
        apply(next);
        log.info("configuration " + next.file() + " in force: " + next.vms().size() + " VMs, " + targets.size()
                + " targets");
        notifyAll();
    }

    private void apply(SupervisorConfig next) throws CatalogException {
        Instant now = clock.instant();
        Map<Key, Tracked> kept = new LinkedHashMap<>();
        for (Vm vm : next.vms()) {
            for (Target target : vm.targets()) {
                Key key = new Key(vm.name(), target.dest());
                Tracked t = targets.get(key);
                if (t == null) {
                    TargetState state = catalog.state(vm.name(), target.dest(), now);
                    Health last = catalog.lastHealth(vm.name(), target.dest()).orElse(
                            HealthRules.judge(target.policy(), state, paused.contains(vm.name()), now).health());
                    t = new Tracked(vm, target, state, last);
                    metrics.health(key.vm(), key.dest(), last);
                    state.lastPoint().ifPresent(p -> metrics.lastPoint(key.vm(), key.dest(), p));
                }
                if (t.state.permanent() && t.target != null && !t.target.equals(target)) {
                    t.forced = true; // a changed config is what a permanent failure waits for
                }
                t.vm = vm;
                t.target = target;
                metrics.target(key.vm(), key.dest(), target.policy().rpo());
                metrics.running(key.vm(), key.dest(), t.running);
                kept.put(key, t);
            }
        }
        for (Key gone : targets.keySet()) {
            if (!kept.containsKey(gone)) {
                metrics.forget(gone.vm(), gone.dest());
            }
        }
        targets.clear();
        targets.putAll(kept);
        config = next;
    }

    public synchronized SupervisorConfig config() {
        return config;
    }

    /** Every VM's and target's state now, {@code vm}'s only if given. */
    public synchronized Status status(Optional<String> vm) throws UnknownTargetException {
        Instant now = clock.instant();
        if (vm.isPresent()) {
            matching(vm.get(), Optional.empty());
        }
        List<Status.VmStatus> vms = new ArrayList<>();
        for (Vm v : config.vms()) {
            if (vm.isPresent() && !vm.get().equals(v.name())) {
                continue;
            }
            List<Status.TargetStatus> ts = new ArrayList<>();
            Health worst = Health.OK;
            for (Target target : v.targets()) {
                Tracked t = targets.get(new Key(v.name(), target.dest()));
                judge(new Key(v.name(), target.dest()), t, now);
                worst = Health.worst(worst, t.health);
                Planner.Next next = t.running || (paused.contains(v.name()) && !t.forced) ? null : next(t, now);
                ts.add(new Status.TargetStatus(target.dest(), t.health.label(), t.reason,
                        target.policy().rpo().toSeconds(), t.state.lastPoint().map(Instant::toString).orElse(null),
                        t.state.lastPoint().map(p -> Duration.between(p, now).toSeconds()).orElse(null), t.running,
                        t.running ? t.runningKind.label() : null,
                        t.running ? Duration.between(t.runningSince, now).toSeconds() : null,
                        next == null ? null : next.at().toString(),
                        next == null ? null : next.kind().label(),
                        next == null ? null : next.why(),
                        t.state.consecutiveFailures() > 0 ? t.state.lastError().orElse(null) : null,
                        t.state.consecutiveFailures(), t.running ? t.phase : null, t.running ? percent(t) : null,
                        t.running ? eta(t, now) : null, t.state.boot().map(BootOutcome::verdict).orElse(null),
                        t.state.boot().map(BootOutcome::vmPoint).orElse(null),
                        t.state.lastBootCheck().map(Instant::toString).orElse(null),
                        t.state.boot().map(BootOutcome::reason).orElse(null)));
            }
            vms.add(new Status.VmStatus(v.name(), paused.contains(v.name()) ? Health.worst(worst, Health.PAUSED).label()
                    : worst.label(), paused.contains(v.name()), ts));
        }
        return new Status(now.toString(), vms);
    }

    private static Double percent(Tracked t) {
        long total = t.phaseTotal;
        return t.phase == null || total <= 0 ? null : Math.min(100.0, Math.round(1000.0 * t.phaseDone / total) / 10.0);
    }

    /** The current phase's remaining bytes at its rate so far; null until it has a rate. */
    private static Long eta(Tracked t, Instant now) {
        Instant started = t.phaseStarted;
        long done = t.phaseDone;
        if (t.phase == null || started == null || done <= 0 || t.phaseTotal <= 0) {
            return null;
        }
        double seconds = Duration.between(started, now).toMillis() / 1000.0;
        return Math.round(seconds * (t.phaseTotal - done) / done);
    }

    public Catalog catalog() {
        return catalog;
    }

    /** Stops scheduling and interrupts running cycles, which leave their replicas at the last committed point. */
    @Override
    public void close() throws InterruptedException {
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        if (scheduler != null) {
            scheduler.join();
        }
        cycles.shutdownNow();
        cycles.awaitTermination(30, TimeUnit.SECONDS);
        hooks.shutdown();
        hooks.awaitTermination(5, TimeUnit.SECONDS);
    }

    private static java.util.concurrent.ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> new Thread(r, prefix + "-" + n.incrementAndGet());
    }
}
