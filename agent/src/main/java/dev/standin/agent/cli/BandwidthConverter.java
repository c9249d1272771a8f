package dev.standin.agent.cli;

import dev.standin.agent.Units;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** {@code --bwlimit} values as rsync reads them ({@link Units#rate}). */
final class BandwidthConverter implements ITypeConverter<Long> {

    @Override
    public Long convert(String value) {
        try {
            return Units.rate(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
    }
}
