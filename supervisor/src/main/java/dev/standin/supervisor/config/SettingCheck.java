package dev.standin.supervisor.config;

import java.util.Optional;

/**
 * Checks the values the supervisor hands to cycles unread (a destination, a snapshot spec, a
 * codec, a rate): the agent checks them with the very parsers {@code standin sync} uses, so a
 * typo is refused when the file is read, with its line, not at 02:00 when the cycle starts.
 */
@FunctionalInterface
public interface SettingCheck {

    /** What is wrong with {@code value} for {@code key} ({@code dest}, {@code snapshot}, a sync option), if anything. */
    Optional<String> problem(String key, String value);

    SettingCheck NONE = (key, value) -> Optional.empty();
}
