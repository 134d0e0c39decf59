package io.pivotpool.etcd.autoconfigure;

import java.util.Locale;

import org.springframework.boot.actuate.endpoint.SanitizingFunction;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.context.annotation.Bean;

/**
 * Masks {@code distributed.etcd.password} (in every relaxed form: {@code DISTRIBUTED_ETCD_PASSWORD},
 * {@code distributed.etcd[password]}) in the actuator's {@code configprops} and {@code env}
 * endpoints, also with {@code show-values: always}, when Boot applies no key rules of its own to
 * custom properties and only the registered {@link SanitizingFunction}s.
 */
@AutoConfiguration
@ConditionalOnClass(SanitizingFunction.class)
public final class EtcdCredentialsSanitizingAutoConfiguration {

    @Bean
    SanitizingFunction pivotPoolEtcdCredentialsSanitizingFunction() {
        return (data) -> isEtcdCredential(data.getKey()) ? data.withSanitizedValue() : data;
    }

    static boolean isEtcdCredential(String key) {
        if (key == null) {
            return false;
        }
        String normalized = key.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "");
        return normalized.equals("distributedetcdpassword");
    }
}
