package dev.standin.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.supervisor.catalog.Catalog;
import dev.standin.supervisor.config.ConfigReader;
import dev.standin.supervisor.config.SettingCheck;
import dev.standin.supervisor.config.SupervisorConfig;
import dev.standin.supervisor.metrics.SupervisorMetrics;
import dev.standin.supervisor.policy.Health;
import dev.standin.supervisor.policy.Outcome;
import dev.standin.supervisor.policy.Planner;
import java.io.PrintWriter;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scheduler's decisions, step by step at times the test sets: what starts under
 * max-parallel and in which order, that a target never runs twice at once, what 'run' waits for,
 * and what a restart remembers. Cycles are held by the test until it says how they ended, so
 * nothing here sleeps; the engine behind {@link CycleRunner} is exercised by the agent's SupervisorIT.
 */
class SupervisorTest {

    @TempDir
    Path dir;

    final MutableClock clock = new MutableClock(Instant.parse("2026-12-02T10:00:00Z"));
    final HeldCycles cycles = new HeldCycles();
    final StringWriter log = new StringWriter();
    Catalog catalog;
    Supervisor supervisor;

    @AfterEach
    void close() throws Exception {
        cycles.releaseAll();
        if (supervisor != null) {
            supervisor.close();
        }
        if (catalog != null) {
            catalog.close();
        }
    }

    Supervisor start(String yaml) throws Exception {
        SupervisorConfig config = ConfigReader.read(new StringReader("state-dir: " + dir + "\nretry-first: 30s\n"
                + yaml), "test.yaml", SettingCheck.NONE);
        catalog = Catalog.open(dir);
        supervisor = new Supervisor(config, cycles, catalog, new SupervisorMetrics(), clock,
                new SupervisorLog(new PrintWriter(log, true)));
        return supervisor;
    }

    static String vm(String name, String rpo) {
        return "  " + name + ":\n    disks: [{source: /img/" + name + ".img}]\n    targets: [{dest: /r/" + name
                + "/, rpo: " + rpo + "}]\n";
    }

    @Test
    void startUpRecoveryComesBeforeTheFirstCycle() throws Exception {
        start("vms:\n" + vm("db", "5m") + vm("web", "1h"));
        supervisor.start();
        HeldCycles.Held first = cycles.started.poll(30, TimeUnit.SECONDS);
        assertEquals("recover [db, web]", cycles.events.get(0), cycles.events.toString());
        assertEquals("run " + first.vm, cycles.events.get(1), cycles.events.toString());
        assertTrue(log.toString().contains("<6>start-up: db: the interrupted cycle's journal was replayed"), log.toString());
    }

    @Test
    void maxParallelHoldsTheRestAndTheTightestRpoGoesFirst() throws Exception {
        start("max-parallel: 1\nvms:\n" + vm("loose", "1h") + vm("tight", "5m"));
        supervisor.step(clock.instant()); // both need a first copy: the first in the file starts
        assertEquals("loose", cycles.next().vm);
        assertFalse(running("tight"), "one slot");
        finish("loose", Outcome.OK);
        supervisor.step(clock.instant());
        assertEquals("tight", cycles.next().vm);
        finish("tight", Outcome.OK);

        // Both due an hour later: the one whose RPO is nearer to being missed goes first.
        clock.advance(Duration.ofHours(1));
        supervisor.step(clock.instant());
        assertEquals("tight", cycles.next().vm);
    }

    @Test
    void aTargetNeverRunsTwiceAndRunWaitsForTheCycleItAskedFor() throws Exception {
        start("vms:\n" + vm("db", "5m"));
        supervisor.step(clock.instant());
        HeldCycles.Held first = cycles.next();
        List<CompletableFuture<CycleResult>> asked = supervisor.runNow("db", Optional.empty());
        supervisor.step(clock.instant());
        assertEquals(1, cycles.count(), "not while its cycle runs");
        finish("db", Outcome.OK);
        assertFalse(asked.get(0).isDone(), "the cycle that ran started before 'run'");
        supervisor.step(clock.instant());
        HeldCycles.Held second = cycles.next();
        assertTrue(second != first);
        finish("db", Outcome.TRANSIENT);
        assertEquals(Outcome.TRANSIENT, asked.get(0).get(10, TimeUnit.SECONDS).outcome());
    }

    @Test
    void statusShowsTheRunningCyclesPhaseShareAndEta() throws Exception {
        start("vms:\n" + vm("db", "5m"));
        supervisor.step(clock.instant());
        HeldCycles.Held cycle = cycles.next();
        cycle.progress.phase("scanning", 1000);
        clock.advance(Duration.ofSeconds(30));
        cycle.progress.done(250);
        Status.TargetStatus t = supervisor.status(Optional.of("db")).vms().get(0).targets().get(0);
        assertEquals("scanning", t.phase());
        assertEquals(25.0, t.percent());
        assertEquals(90L, t.etaSeconds(), "750 bytes to go at 250 per 30 s");
        assertTrue(supervisor.status(Optional.empty()).text(ZoneOffset.UTC).contains("sync 25% ETA 1m30s"));
    }

    @Test
    void aPausedVmStartsNothingScheduledButRunStillRunsIt() throws Exception {
        start("vms:\n" + vm("db", "5m"));
        supervisor.pause("db", true);
        supervisor.step(clock.instant());
        assertFalse(running("db"));
        assertEquals("paused", supervisor.status(Optional.of("db")).vms().get(0).health());
        supervisor.runNow("db", Optional.empty());
        supervisor.step(clock.instant());
        assertEquals("db", cycles.next().vm);
    }

    @Test
    void healthChangesAreRecordedAndARestartRemembersBackoffAndHealth() throws Exception {
        start("vms:\n" + vm("db", "5m"));
        supervisor.step(clock.instant());
        cycles.next();
        finish("db", Outcome.OK);
        supervisor.step(clock.instant());
        clock.advance(Duration.ofMinutes(5)); // due: 5 min less a tenth and a jitter
        supervisor.step(clock.instant());
        cycles.next();
        finish("db", Outcome.PERMANENT);
        supervisor.step(clock.instant());
        assertTrue(log.toString().contains("<4>db /r/db/: ok -> critical: no luck"), log.toString());
        supervisor.close();
        supervisor = null;
        catalog.close();

        // The agent restarts ten minutes later: still critical, no new alert, no retry before the hour.
        clock.advance(Duration.ofMinutes(10));
        StringWriter before = new StringWriter();
        before.write(log.toString());
        start("vms:\n" + vm("db", "5m"));
        supervisor.step(clock.instant());
        assertFalse(running("db"), "a permanent failure waits an hour, restart or not");
        assertEquals(Optional.of(Health.CRITICAL), catalog.lastHealth("db", "/r/db/"));
        assertEquals(before.toString(), log.toString().substring(0, before.toString().length()));
        assertFalse(log.toString().substring(before.toString().length()).contains("-> critical"), log.toString());
        clock.advance(Duration.ofMinutes(51));
        supervisor.step(clock.instant());
        assertEquals("db", cycles.next().vm);
    }

    @Test
    void aCycleCutShortByTheAgentsStopIsNotCountedAsAFailure() throws Exception {
        start("vms:\n" + vm("db", "5m"));
        supervisor.step(clock.instant());
        cycles.next();
        supervisor.close(); // interrupts the held cycle
        supervisor = null;
        assertEquals(0, catalog.state("db", "/r/db/", clock.instant()).consecutiveFailures());
        assertEquals(List.of(), catalog.history(Optional.empty(), Optional.empty(), 10));
    }

    @Test
    void aChangedTargetIsRetriedAtOnceAfterAPermanentFailure() throws Exception {
        start("vms:\n" + vm("db", "5m"));
        supervisor.step(clock.instant());
        cycles.next();
        finish("db", Outcome.PERMANENT);
        supervisor.step(clock.instant());
        assertFalse(running("db"));
        supervisor.reload(ConfigReader.read(new StringReader("state-dir: " + dir + "\nvms:\n" + vm("db", "10m")),
                "test.yaml", SettingCheck.NONE));
        supervisor.step(clock.instant());
        assertEquals("db", cycles.next().vm, "the fix an operator made is tried now");
    }

    boolean running(String vm) throws Exception {
        return supervisor.status(Optional.of(vm)).vms().get(0).targets().get(0).running();
    }

    /** Ends {@code vm}'s cycle and waits until the supervisor has taken its result in. */
    void finish(String vm, Outcome outcome) throws Exception {
        cycles.end(vm, outcome);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (running(vm)) {
            assertTrue(System.nanoTime() < deadline, "the supervisor did not take the result in");
            Thread.onSpinWait();
        }
    }

    /** A clock the test moves. */
    static final class MutableClock extends Clock {
        private Instant now;

        MutableClock(Instant now) {
            this.now = now;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }

    /** Cycles that end when the test says, with the outcome it says. */
    static final class HeldCycles implements CycleRunner {
        static final class Held {
            final String vm;
            CycleProgress progress;
            final CompletableFuture<Outcome> outcome = new CompletableFuture<>();

            Held(String vm) {
                this.vm = vm;
            }
        }

        private final BlockingQueue<Held> started = new LinkedBlockingQueue<>();
        private final List<Held> all = new ArrayList<>();
        final List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());

        @Override
        public List<String> recover(List<SupervisorConfig.Vm> vms, List<Path> replicaRoots) {
            events.add("recover " + vms.stream().map(SupervisorConfig.Vm::name).toList());
            return List.of("db: the interrupted cycle's journal was replayed");
        }

        @Override
        public CycleResult run(SupervisorConfig.Vm vm, SupervisorConfig.Target target, Planner.Kind kind,
                String bwlimit, CycleProgress progress) throws InterruptedException {
            events.add("run " + vm.name());
            Held held = new Held(vm.name());
            held.progress = progress;
            synchronized (all) {
                all.add(held);
            }
            started.add(held);
            try {
                Outcome o = held.outcome.get();
                return o == Outcome.OK ? new CycleResult(o, false, 10, 5, Optional.empty(), List.of(1L), Optional.empty(), false,
                        Optional.empty()) : CycleResult.failed(o, "no luck");
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException(e);
            }
        }

        Held next() throws InterruptedException {
            Held h = started.poll(10, TimeUnit.SECONDS);
            if (h == null) {
                throw new AssertionError("no cycle started");
            }
            return h;
        }

        int count() {
            synchronized (all) {
                return all.size();
            }
        }

        void end(String vm, Outcome outcome) {
            synchronized (all) {
                for (Held h : all) {
                    if (h.vm.equals(vm) && !h.outcome.isDone()) {
                        h.outcome.complete(outcome);
                    }
                }
            }
        }

        void releaseAll() {
            synchronized (all) {
                all.forEach(h -> h.outcome.complete(Outcome.TRANSIENT));
            }
        }
    }
}
