package dev.standin.install;

import dev.standin.agent.cli.Main;
import dev.standin.agent.daemon.Invocation;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.codegen.docgen.manpage.ManPageGenerator;

/**
 * Writes what the packages install about the command line, from the command model itself
 * ({@link Main#commandLine}): one AsciiDoc man page per command ({@code standin.adoc},
 * {@code standin-sync.adoc}, ...), turned into troff by asciidoctor at {@code prepare-package},
 * and the bash completion script. Generated at every build, so an option added to a command is in
 * its man page and completes the day it lands.
 *
 * <p>Usage: {@code ManualPages ADOC_DIR COMPLETION_FILE}
 */
public final class ManualPages {

    private ManualPages() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            throw new IllegalArgumentException("usage: ManualPages ADOC_DIR COMPLETION_FILE");
        }
        CommandLine cli = Main.commandLine(Invocation.ofProcess());
        File pages = new File(args[0]);
        Files.createDirectories(pages.toPath());
        int status = ManPageGenerator.generateManPage(pages, null, new boolean[0], true, cli.getCommandSpec());
        if (status != 0) {
            throw new IOException("picocli's man page generator failed with status " + status);
        }
        Path completion = Path.of(args[1]);
        Files.createDirectories(completion.toAbsolutePath().getParent());
        // Sourced by bash-completion, never executed: no #! line (Debian policy, lintian).
        String script = AutoComplete.bash("standin", cli);
        Files.writeString(completion, script.startsWith("#!") ? script.substring(script.indexOf('\n') + 1) : script);
    }
}
