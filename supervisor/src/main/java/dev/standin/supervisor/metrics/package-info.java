/** The supervisor's Prometheus metrics and their HTTP endpoint (docs/metrics.md). */
package dev.standin.supervisor.metrics;
