/**
 * Build-time generation for the packages (docs/packaging.md). <b>Manual pages</b>: standin(1) and
 * one page per subcommand, from the picocli command model; <b>completion</b>: the bash script
 * picocli derives from the same model. Nothing here runs on a host; the packages carry its output.
 */
package dev.standin.install;
