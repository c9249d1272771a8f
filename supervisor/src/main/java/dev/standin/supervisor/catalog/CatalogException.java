package dev.standin.supervisor.catalog;

/** The catalog cannot be opened, read or written; the message names the file and SQLite's reason. */
public final class CatalogException extends Exception {
    public CatalogException(String message, Throwable cause) {
        super(message, cause);
    }

    public CatalogException(String message) {
        super(message);
    }
}
