package io.pivotpool.redis;

import java.nio.file.Path;
import java.time.Duration;

import io.pivotpool.distributed.DistributedSettings.InvalidSettingException;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * The builder owns every rule of the Redis settings and names the broken one as its property is
 * named under {@code distributed.redis.}: the auto-configuration only maps that name, so that a
 * rule is written once.
 */
class RedisCoordinatorSettingsTests {

    @Test
    void aPortOutOfRangeIsNamedWithItsValueAndRule() {
        assertThatExceptionOfType(InvalidSettingException.class)
            .isThrownBy(() -> RedisCoordinatorSettings.builder().port(70000).build())
            .satisfies((ex) -> {
                assertThat(ex.property()).isEqualTo("port");
                assertThat(ex.value()).isEqualTo(70000);
                assertThat(ex.rule()).isEqualTo("must be between 1 and 65535");
            })
            .withMessage("port must be between 1 and 65535, was 70000");
    }

    @Test
    void everyRuleNamesItsSetting() {
        assertThat(property(RedisCoordinatorSettings.builder().host(" "))).isEqualTo("host");
        assertThat(property(RedisCoordinatorSettings.builder().database(-1))).isEqualTo("database");
        assertThat(property(RedisCoordinatorSettings.builder().timeout(Duration.ZERO))).isEqualTo("timeout");
        assertThat(property(RedisCoordinatorSettings.builder().sslTrustedCertificates(Path.of("ca.pem"))))
            .isEqualTo("sslTrustedCertificates");
    }

    @Test
    void aMissingTimeoutIsAnInvalidSettingNotANullPointer() {
        assertThatExceptionOfType(InvalidSettingException.class)
            .isThrownBy(() -> RedisCoordinatorSettings.builder().timeout(null).build())
            .withMessage("timeout must be positive, was null");
    }

    private static String property(RedisCoordinatorSettings.Builder builder) {
        try {
            builder.build();
        }
        catch (InvalidSettingException ex) {
            return ex.property();
        }
        throw new AssertionError("build() accepted settings it should refuse");
    }
}
