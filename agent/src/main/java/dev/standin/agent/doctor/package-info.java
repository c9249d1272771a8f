/**
 * {@code standin doctor}: whether this host has what its configuration uses, one line per thing,
 * syncoid's start-up check as a command. Terms: a <b>finding</b> is one line (a subject and what
 * was found); <b>MISSING</b> is something the configuration uses that is absent or unreachable
 * (it fails the examination, exit 9), <b>note</b> something absent that the configuration does not
 * use yet, with the package that provides it. Targets are reached as a cycle would reach them:
 * the target's key, the pinned host key, a greeting from its receiver.
 */
package dev.standin.agent.doctor;
