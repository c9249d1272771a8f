package dev.standin.architecture;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideOutsideOfPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * The layering docs/layout.md describes, checked on the compiled classes of every module on this
 * module's classpath (native, delta-sync, snapshot-hooks, agent).
 */
@AnalyzeClasses(packages = "dev.standin", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

    /** The algorithm: blocks, signatures and the delta stream's codec, testable without a disk or a socket. */
    @ArchTest
    static final ArchRule deltaSyncImportsNothingOfTheProject = classes().that().resideInAPackage("dev.standin.delta..")
            .should().onlyDependOnClassesThat(resideOutsideOfPackage("dev.standin..")
                    .or(resideInAPackage("dev.standin.delta..")))
            .as("delta-sync imports nothing of the project");

    @ArchTest
    static final ArchRule deltaSyncDoesNoIo = noClasses().that().resideInAPackage("dev.standin.delta..")
            .should().dependOnClassesThat().resideInAnyPackage("java.nio.file..", "java.nio.channels..", "java.net..")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("java.io.File")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("java.io.FileInputStream")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("java.io.FileOutputStream")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("java.io.RandomAccessFile")
            .as("delta-sync opens no file, channel or socket: it reads and writes the streams it is given");

    /** JNR's types stay behind the native module's API; libxxhash's binding is the one exception. */
    @ArchTest
    static final ArchRule jnrStaysInNative = noClasses()
            .that().resideOutsideOfPackage("dev.standin.nativeio..")
            .and().haveNameNotMatching("dev\\.standin\\.delta\\.NativeXxh3(\\$.*)?")
            .and().resideInAPackage("dev.standin..")
            .should().dependOnClassesThat().resideInAPackage("jnr..")
            .as("JNR types stay in native (and the libxxhash binding)");

    @ArchTest
    static final ArchRule nothingImportsTheCommandLine = noClasses()
            .that().resideOutsideOfPackage("dev.standin.agent.cli..")
            .should().dependOnClassesThat().resideInAPackage("dev.standin.agent.cli..")
            .as("nothing imports the CLI package");

    /** What the supervisor builds on: it must not pull in picocli or the terminal's progress bar. */
    @ArchTest
    static final ArchRule engineKnowsNoCommandLine = noClasses()
            .that().resideOutsideOfPackage("dev.standin.agent.cli..")
            .should().dependOnClassesThat().resideInAnyPackage("picocli..", "me.tongfei.progressbar..")
            .as("only the CLI package uses picocli and the progress bar");

    /**
     * One failure root for the engine and the hooks: a checked exception of theirs is a
     * StandinException (exit status, isPermanent()) or an IOException that the engine classifies
     * into one where it is caught (sync.Failures).
     */
    @ArchTest
    static final ArchRule oneFailureRoot = classes()
            .that().resideInAnyPackage("dev.standin.agent..", "dev.standin.snapshot..", "dev.standin.failure..",
                    "dev.standin.nativeio..")
            .and().areAssignableTo(Exception.class)
            .and().areNotAssignableTo(RuntimeException.class)
            .should().beAssignableTo(dev.standin.failure.StandinException.class)
            .orShould().beAssignableTo(java.io.IOException.class)
            .as("checked exceptions of the engine and the hooks are StandinExceptions (or IOExceptions classified "
                    + "into one)");

    @ArchTest
    static final ArchRule noCyclesBetweenModules = slices().matching("dev.standin.(*)..").should().beFreeOfCycles();

    @ArchTest
    static final ArchRule noCyclesInTheAgent = slices().matching("dev.standin.agent.(*)..").should().beFreeOfCycles();
}
