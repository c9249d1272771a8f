package dev.standin.agent.cli;

import dev.standin.agent.doctor.Doctor;
import dev.standin.failure.ExitStatus;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code standin doctor}: what this host needs for its configuration (doctor package). */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Checks that this host has what its configuration uses, one line each with the package that "
                + "provides what is missing: Java, libxxhash, the tools of the snapshot kinds in use, each VM's disks "
                + "and QMP sockets, the state directory's space and reflinks, the agent, and each target reached with "
                + "its key and pinned host key. Exit 0 only when nothing the configuration uses is missing.")
final class DoctorCommand implements Callable<Integer> {

    @ParentCommand
    private Main main;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE",
            description = "The configuration to check the host for (default: " + CheckConfigCommand.DEFAULT_FILE + ").")
    private Path config;

    @Override
    public Integer call() {
        Doctor doctor = new Doctor(config != null ? config : Path.of(CheckConfigCommand.DEFAULT_FILE), config != null,
                main.invocation().environment());
        List<Doctor.Finding> findings = doctor.examine();
        findings.forEach(main.invocation().out()::println);
        main.invocation().out().println("standin doctor: " + Doctor.summary(findings));
        boolean missing = findings.stream().anyMatch(f -> f.verdict() == Doctor.Verdict.MISSING);
        return (missing ? ExitStatus.MISSING : ExitStatus.OK).code();
    }
}
