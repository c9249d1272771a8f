package dev.standin.agent.cli;

import dev.standin.agent.Units;
import java.time.Duration;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** I/O timeouts as users write them: 600 (seconds, as rsync's), 90s, 10m, 0 ({@link Units#timeout}). */
final class TimeoutConverter implements ITypeConverter<Duration> {

    @Override
    public Duration convert(String value) {
        try {
            return Units.timeout(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
    }
}
