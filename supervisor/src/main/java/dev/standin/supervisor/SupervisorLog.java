package dev.standin.supervisor;

import java.io.PrintWriter;

/**
 * Lines for journald: each starts with its syslog priority ({@code <3>} error, {@code <4>}
 * warning, {@code <6>} info), which journald strips and keeps as the level (sd-daemon(3)).
 */
public final class SupervisorLog {

    private final PrintWriter out;

    public SupervisorLog(PrintWriter out) {
        this.out = out;
    }

    public void info(String line) {
        write(6, line);
    }

    public void warning(String line) {
        write(4, line);
    }

    public void error(String line) {
        write(3, line);
    }

    private void write(int priority, String line) {
        synchronized (out) {
            out.println("<" + priority + ">" + line);
            out.flush();
        }
    }
}
