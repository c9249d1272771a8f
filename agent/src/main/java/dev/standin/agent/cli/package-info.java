/**
 * The command line (picocli): parses arguments, builds requests for the engine, prints reports and
 * maps failures to exit statuses. Nothing else in the project imports this package.
 */
package dev.standin.agent.cli;
