/**
 * The supervisor's YAML file (docs/standin.yaml.5.adoc), read strictly: an unknown key, a wrong kind of
 * value or a failed {@link dev.standin.supervisor.config.SettingCheck} is refused with the file,
 * line and reason. Terms: <em>settings</em> are the {@code standin sync} options a target runs with,
 * each taken from the target, else its VM, else the top of the file.
 */
package dev.standin.supervisor.config;
