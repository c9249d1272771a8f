package dev.standin.agent.cli;

import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Sizes as users write them: 4096, 64K, 1M. */
final class SizeConverter implements ITypeConverter<Integer> {

    @Override
    public Integer convert(String value) {
        String v = value.trim().toUpperCase(Locale.ROOT);
        long unit = 1;
        if (v.endsWith("K")) {
            unit = 1024;
        } else if (v.endsWith("M")) {
            unit = 1024 * 1024;
        }
        if (unit != 1) {
            v = v.substring(0, v.length() - 1);
        }
        try {
            long size = Long.parseLong(v) * unit;
            if (size <= 0 || size > Integer.MAX_VALUE) {
                throw new TypeConversionException("'" + value + "' is not a usable size");
            }
            return (int) size;
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + value + "' is not a size (e.g. 4096, 64K, 1M)");
        }
    }
}
