package dev.standin.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine.TypeConversionException;

/** {@code --bwlimit} values read as rsync reads them (rsync(1), --bwlimit and --max-size). */
class BandwidthConverterTest {

    private final BandwidthConverter converter = new BandwidthConverter();

    @Test
    void aPlainNumberIsKibibytesPerSecondAsInRsync() {
        assertEquals(500 * 1024L, converter.convert("500"));
        assertEquals(1536L, converter.convert("1.5"));
    }

    @Test
    void singleLettersAndIbAreBinaryAndBIsDecimal() {
        assertEquals(10L << 20, converter.convert("10M"));
        assertEquals(10L << 20, converter.convert("10m"));
        assertEquals(10L << 20, converter.convert("10MiB"));
        assertEquals(10_000_000L, converter.convert("10MB"));
        assertEquals(10_000_000L, converter.convert("10mb"));
        assertEquals(500L << 10, converter.convert("500K"));
        assertEquals(500_000L, converter.convert("500kB"));
        assertEquals((long) (1.5 * (1 << 20)), converter.convert("1.5m"));
        assertEquals(2L << 30, converter.convert("2GiB"));
        assertEquals(1L << 40, converter.convert("1T"));
        assertEquals(4096L, converter.convert("4096B"));
        assertEquals(4096L, converter.convert(" 4096b "));
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "0K", "0.0M", "-5", "-1M", "abc", "10X", "10IB", "5BB", "1.5.2M", "", "M", "10M+1",
            "500B", "0.5", "99999999999P"})
    void nonsenseZeroNegativeAndTooSmallOrLargeAreRefused(String value) {
        TypeConversionException e = assertThrows(TypeConversionException.class, () -> converter.convert(value));
        assertTrue(e.getMessage().contains("'" + value + "'"), e.getMessage());
    }

    @Test
    void zeroSaysHowToAskForNoLimit() {
        TypeConversionException e = assertThrows(TypeConversionException.class, () -> converter.convert("0"));
        assertTrue(e.getMessage().contains("leave --bwlimit out"), e.getMessage());
    }
}
