package io.pivotpool.distributed;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/** The rules of a cluster-wide cap, reported as the Boot starter needs them: property, value, rule. */
class GlobalCapacityTests {

    @Test
    void aCapBelowOneShouldNameGlobalMaxSize() {
        assertThatExceptionOfType(DistributedSettings.InvalidSettingException.class)
            .isThrownBy(() -> GlobalCapacity.of(0))
            .withMessage("global-max-size must be at least 1, was 0")
            .satisfies((ex) -> {
                assertThat(ex.property()).isEqualTo("global-max-size");
                assertThat(ex.value()).isEqualTo(0);
                assertThat(ex.rule()).isEqualTo("must be at least 1");
                assertThat(ex.relatedProperty()).isNull();
            });
    }

    @Test
    void aPartitionSizeOutsideZeroToTheCapShouldNameBothProperties() {
        for (int partitionSize : new int[] { -1, 5 }) {
            assertThatExceptionOfType(DistributedSettings.InvalidSettingException.class)
                .isThrownBy(() -> new GlobalCapacity(4, partitionSize))
                .withMessage("partition-size (" + partitionSize + ") must be between 0 and global-max-size (4)")
                .satisfies((ex) -> {
                    assertThat(ex.property()).isEqualTo("partition-size");
                    assertThat(ex.value()).isEqualTo(partitionSize);
                    assertThat(ex.rule()).isEqualTo("must be between 0 and global-max-size (4)");
                    assertThat(ex.relatedProperty()).isEqualTo("global-max-size");
                });
        }
    }

    @Test
    void aPartitionSizeFromZeroToTheCapShouldBeAccepted() {
        assertThat(new GlobalCapacity(4, 0).partitionSize()).isZero();
        assertThat(new GlobalCapacity(4, 4).partitionSize()).isEqualTo(4);
        assertThat(GlobalCapacity.of(1)).isEqualTo(new GlobalCapacity(1, 1));
    }
}
