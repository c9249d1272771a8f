package dev.standin.agent.cli;

import dev.standin.agent.Units;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Sizes as users write them: 4096, 64K, 1M ({@link Units#size}). */
final class SizeConverter implements ITypeConverter<Integer> {

    @Override
    public Integer convert(String value) {
        try {
            return Units.size(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
    }
}
