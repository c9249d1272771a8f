package dev.standin.supervisor.policy;

import java.util.Locale;

/** A target's health (a VM's is its worst target's), from least to most in need of attention. */
public enum Health {
    OK, INITIAL_SYNC, PAUSED, WARNING, CRITICAL;

    /** As shown, in metrics labels and in STANDIN_HEALTH: {@code ok}, {@code initial-sync}, ... */
    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static Health worst(Health a, Health b) {
        return a.compareTo(b) >= 0 ? a : b;
    }
}
