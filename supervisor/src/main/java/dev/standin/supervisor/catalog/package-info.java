/** The supervisor's SQLite catalog of cycles, scrubs, health changes and pauses (docs/catalog.md). */
package dev.standin.supervisor.catalog;
