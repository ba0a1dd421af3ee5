package io.tcphardening.agent.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The log's own ISO 8601 timestamps, with the second they share cached, against java.time's. */
class TimestampTest {

    private static final DateTimeFormatter ISO = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'")
            .withZone(ZoneOffset.UTC);

    @Test
    void everyMillisecondAroundSecondsDaysAndLeapYearsIsStampedAsJavaTimeWould() {
        long[] starts = {0L, 951_782_399_000L, 1_709_164_799_998L, 4_102_444_799_999L, 1_796_313_759_000L};
        for (long start : starts) {
            for (long millis = start - 3; millis <= start + 3; millis++) {
                assertEquals(ISO.format(Instant.ofEpochMilli(millis)), HardeningLog.timestamp(millis), "at " + millis);
            }
        }
    }

    @Test
    void linesOfOneSecondAndOfOthersInAnyOrder() {
        SplittableRandom random = new SplittableRandom(21);
        long base = 1_796_313_759_000L;
        for (int i = 0; i < 10_000; i++) {
            long millis = base + random.nextLong(5_000);
            assertEquals(ISO.format(Instant.ofEpochMilli(millis)), HardeningLog.timestamp(millis), "at " + millis);
        }
    }
}
