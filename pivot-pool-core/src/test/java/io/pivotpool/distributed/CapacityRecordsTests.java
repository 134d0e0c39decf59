package io.pivotpool.distributed;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class CapacityRecordsTests {

    @Test
    void recordsSurviveTheRoundTrip() {
        assertThat(CapacityRecords.Demand.decode(new CapacityRecords.Demand(7, 32, 4).encode()))
            .isEqualTo(new CapacityRecords.Demand(7, 32, 4));
        assertThat(CapacityRecords.Target.decode(new CapacityRecords.Target(Long.MAX_VALUE / 10, 3).encode()))
            .isEqualTo(new CapacityRecords.Target(Long.MAX_VALUE / 10, 3));
    }

    @Test
    void anythingButPlainDecimalIntegersIsGarbage() {
        for (String junk : new String[] { "t1 1e5 3", "t1 -1 3", "t1 0x10 3", "t1 inf 3", "t1 nan 3", "t1 01 3",
                "t1 1 3 4", "t1 1", "d1 1 2 3", "t1  3", "t1 99999999999999999999 1", "t1 1 3000000000", "",
                "t1 1 \u0663", "t1 1 3 ", " t1 1 3", "t1x1 3", "t", "t1", "t1 ", "T1 1 3", "t1 1\t3", "t1 +1 3" }) {
            assertThatIllegalArgumentException().as(junk)
                .isThrownBy(() -> CapacityRecords.Target.decode(junk.getBytes(StandardCharsets.UTF_8)));
        }
        assertThatIllegalArgumentException()
            .isThrownBy(() -> CapacityRecords.Demand.decode(new byte[4 * 1024 * 1024]))
            .withMessageContaining("longer than any record");
    }
}
