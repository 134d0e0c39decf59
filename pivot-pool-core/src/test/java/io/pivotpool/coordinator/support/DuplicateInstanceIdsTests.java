package io.pivotpool.coordinator.support;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.pivotpool.coordinator.DuplicateInstanceIdException;
import io.pivotpool.coordinator.InstanceInfo;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatNoException;

class DuplicateInstanceIdsTests {

    private static final InstanceInfo SELF = new InstanceInfo("twin", "host", 1_000L, Map.of());

    private final DuplicateInstanceIds duplicates = new DuplicateInstanceIds();

    @Test
    void ownRecordsAloneAreNothingToReport() {
        for (int i = 0; i < 3; i++) {
            assertThatNoException().isThrownBy(() -> this.duplicates.check("Redis", SELF, -1, 50));
        }
    }

    @Test
    void anotherProcessFoundFailsNowAndForTwiceTheTtlAfter() throws Exception {
        assertThatExceptionOfType(DuplicateInstanceIdException.class)
            .isThrownBy(() -> this.duplicates.check("Redis", SELF, 2_000L, 100))
            .withMessageContaining("'twin' on Redis")
            .withMessageContaining("1970-01-01T00:00:02Z")
            .withMessageContaining("1970-01-01T00:00:01Z");
        assertThatExceptionOfType(DuplicateInstanceIdException.class)
            .as("finding its own record again while the other may still be live")
            .isThrownBy(() -> this.duplicates.check("Redis", SELF, -1, 100));
        TimeUnit.MILLISECONDS.sleep(250);
        assertThatNoException().isThrownBy(() -> this.duplicates.check("Redis", SELF, -1, 100));
        assertThatNoException().as("and stays so").isThrownBy(() -> this.duplicates.check("Redis", SELF, -1, 100));
    }

    @Test
    void aRequestOutsideARoundIsHeldBackToo() throws Exception {
        assertThatNoException().isThrownBy(() -> this.duplicates.requireNotHeld("twin"));
        assertThatExceptionOfType(DuplicateInstanceIdException.class)
            .isThrownBy(() -> this.duplicates.check("Redis", SELF, 2_000L, 100));
        assertThatExceptionOfType(DuplicateInstanceIdException.class)
            .isThrownBy(() -> this.duplicates.requireNotHeld("twin"));
        assertThatNoException().as("another id").isThrownBy(() -> this.duplicates.requireNotHeld("other"));
        TimeUnit.MILLISECONDS.sleep(250);
        assertThatNoException().isThrownBy(() -> this.duplicates.requireNotHeld("twin"));
    }

    @Test
    void anotherIdOfTheSameCoordinatorIsNotHeldBack() {
        assertThatExceptionOfType(DuplicateInstanceIdException.class)
            .isThrownBy(() -> this.duplicates.check("etcd", SELF, 2_000L, 60_000));
        InstanceInfo other = new InstanceInfo("other", "host", 1_000L, Map.of());
        assertThatNoException().isThrownBy(() -> this.duplicates.check("etcd", other, -1, 60_000));
        assertThatExceptionOfType(DuplicateInstanceIdException.class)
            .isThrownBy(() -> this.duplicates.check("etcd", SELF, -1, 60_000));
    }
}
