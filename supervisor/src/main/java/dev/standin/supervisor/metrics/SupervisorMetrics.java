package dev.standin.supervisor.metrics;

import dev.standin.supervisor.policy.Health;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.core.metrics.StateSet;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;

/**
 * The supervisor's Prometheus metrics (docs/metrics.md), labelled by {@code vm} and {@code target},
 * in a registry of their own (no global state), served by the official client's HTTP exporter.
 */
public final class SupervisorMetrics {

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final StateSet health = StateSet.builder().name("standin_target_health")
            .help("Health of a VM's replication target").labelNames("vm", "target")
            .states(Arrays.stream(Health.values()).map(Health::label).toArray(String[]::new)).register(registry);
    private final Gauge rpo = Gauge.builder().name("standin_target_rpo_seconds")
            .help("Recovery point objective of a target").labelNames("vm", "target").register(registry);
    private final Gauge lastPoint = Gauge.builder().name("standin_target_last_point_timestamp_seconds")
            .help("When the target's newest recovery point was taken (Unix time)").labelNames("vm", "target")
            .register(registry);
    private final Gauge running = Gauge.builder().name("standin_target_cycle_running")
            .help("1 while a cycle of the target runs").labelNames("vm", "target").register(registry);
    private final Counter cycles = Counter.builder().name("standin_cycles_total")
            .help("Finished cycles by result (ok, transient, permanent)").labelNames("vm", "target", "result")
            .register(registry);
    private final Histogram duration = Histogram.builder().name("standin_cycle_duration_seconds")
            .help("Duration of finished cycles").labelNames("vm", "target").classicOnly()
            .classicUpperBounds(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 14400, 86400).register(registry);
    private final Counter bytesSent = Counter.builder().name("standin_bytes_sent_total")
            .help("Bytes sent to replicas (on the wire, after compression)").labelNames("vm", "target")
            .register(registry);
    private final Counter bytesRead = Counter.builder().name("standin_bytes_read_total")
            .help("Bytes read from sources").labelNames("vm", "target").register(registry);
    private final StateSet bootVerdict = StateSet.builder().name("standin_target_boot_check")
            .help("Verdict of the last boot check of the target's newest VM point").labelNames("vm", "target")
            .states("verified", "heuristic", "failed").register(registry);
    private final Gauge lastBootCheck = Gauge.builder().name("standin_target_boot_check_timestamp_seconds")
            .help("When the target's last boot check ended (Unix time)").labelNames("vm", "target")
            .register(registry);

    public PrometheusRegistry registry() {
        return registry;
    }

    public void target(String vm, String target, Duration rpoValue) {
        rpo.labelValues(vm, target).set(rpoValue.toSeconds());
    }

    public void health(String vm, String target, Health value) {
        for (Health h : Health.values()) {
            if (h == value) {
                health.labelValues(vm, target).setTrue(h.label());
            } else {
                health.labelValues(vm, target).setFalse(h.label());
            }
        }
    }

    public void running(String vm, String target, boolean yes) {
        running.labelValues(vm, target).set(yes ? 1 : 0);
    }

    public void lastPoint(String vm, String target, Instant at) {
        lastPoint.labelValues(vm, target).set(at.toEpochMilli() / 1000.0);
    }

    public void bootCheck(String vm, String target, String verdict, Instant at) {
        for (String state : new String[] {"verified", "heuristic", "failed"}) {
            if (state.equals(verdict)) {
                bootVerdict.labelValues(vm, target).setTrue(state);
            } else {
                bootVerdict.labelValues(vm, target).setFalse(state);
            }
        }
        lastBootCheck.labelValues(vm, target).set(at.toEpochMilli() / 1000.0);
    }

    public void cycle(String vm, String target, String result, Duration took, long read, long sent) {
        cycles.labelValues(vm, target, result).inc();
        duration.labelValues(vm, target).observe(took.toMillis() / 1000.0);
        bytesRead.labelValues(vm, target).inc(read);
        bytesSent.labelValues(vm, target).inc(sent);
    }

    /** A target no longer in the configuration: its series go. */
    public void forget(String vm, String target) {
        health.remove(vm, target);
        rpo.remove(vm, target);
        lastPoint.remove(vm, target);
        running.remove(vm, target);
        duration.remove(vm, target);
        bytesSent.remove(vm, target);
        bytesRead.remove(vm, target);
        bootVerdict.remove(vm, target);
        lastBootCheck.remove(vm, target);
    }

    /** Serves {@code /metrics} on {@code host:port} until {@link #close}. */
    public HTTPServer serve(String host, int port) throws IOException {
        return HTTPServer.builder().hostname(host).port(port).registry(registry).buildAndStart();
    }
}
