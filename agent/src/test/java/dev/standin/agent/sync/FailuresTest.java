package dev.standin.agent.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.failure.ExitStatus;
import java.io.IOException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import org.junit.jupiter.api.Test;

/** Every failure is said in words, the C library's where it has them, never as a Java class name. */
class FailuresTest {

    @Test
    void fileErrorsThatJavaNamesOnlyByClassGetTheirWords() {
        assertEquals("/srv/r/.r.img.standin-lock: Permission denied",
                Failures.reason(new AccessDeniedException("/srv/r/.r.img.standin-lock")));
        assertEquals("/nope: No such file or directory", Failures.reason(new NoSuchFileException("/nope")));
        assertEquals("/a -> /b: File exists",
                Failures.reason(new java.nio.file.FileAlreadyExistsException("/a", "/b", null)));
        assertEquals("/x: Operation not permitted",
                Failures.reason(new FileSystemException("/x", null, "Operation not permitted")));
    }

    @Test
    void networkErrorsAreNamedThroughTheirWrappers() {
        Exception jsch = new Exception("java.net.UnknownHostException: dr1.invalid", new UnknownHostException("dr1.invalid"));
        assertEquals("dr1.invalid: host not found", Failures.reason(jsch));
        assertEquals("connection refused", Failures.reason(new IOException("x", new ConnectException("Connection refused"))));
    }

    @Test
    void anExceptionWithoutAMessageIsNamedInWords() {
        assertEquals("unexpected end of file", Failures.reason(new java.io.EOFException()));
    }

    @Test
    void classifyKeepsTheSideAndMovesNoSpaceToTheDestination() {
        assertEquals(ExitStatus.SOURCE, Failures.classify(new NoSuchFileException("/s.img"), "source ").status());
        assertEquals("source /s.img: No such file or directory",
                Failures.classify(new NoSuchFileException("/s.img"), "source ").getMessage());
        assertEquals(ExitStatus.DESTINATION,
                Failures.classify(new IOException("No space left on device"), "source ").status());
    }

    @Test
    void aFullDiskNeedsAPersonAndAnIoErrorMayPass() {
        assertTrue(Failures.classify(new IOException("No space left on device"), "destination ").isPermanent());
        assertTrue(Failures.classify(new FileSystemException("/q", null, "Disk quota exceeded"), "destination ")
                .isPermanent());
        assertFalse(Failures.classify(new IOException("Input/output error"), "destination ").isPermanent());
        assertFalse(Failures.classify(new IOException("x", new ConnectException("Connection refused")), "destination ")
                .isPermanent());
    }
}
