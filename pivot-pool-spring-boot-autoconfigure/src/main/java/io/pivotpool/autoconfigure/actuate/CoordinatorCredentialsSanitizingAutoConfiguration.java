package io.pivotpool.autoconfigure.actuate;

import java.util.List;
import java.util.Locale;

import org.springframework.boot.actuate.endpoint.SanitizableData;
import org.springframework.boot.actuate.endpoint.SanitizingFunction;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.context.annotation.Bean;

/**
 * Masks the coordinators' credentials ({@code distributed.redis.password}, and any
 * {@code distributed.*} key that names a password, secret, token or credentials) in the
 * actuator's {@code configprops} and {@code env} endpoints, also when they are configured with
 * {@code show-values: always}: Boot 4 then applies no key rules of its own, only the registered
 * {@link SanitizingFunction}s. The key is matched in every relaxed form
 * ({@code distributed.redis.password}, {@code DISTRIBUTED_REDIS_PASSWORD},
 * {@code distributed.redis[password]}). It names no backend: the rule covers the credentials of
 * every backend module and extension bound under {@code distributed.*}, present or not.
 */
@AutoConfiguration
@ConditionalOnClass(SanitizingFunction.class)
public final class CoordinatorCredentialsSanitizingAutoConfiguration {

    private static final List<String> CREDENTIAL_SUFFIXES = List.of("password", "secret", "token", "credentials");

    @Bean
    SanitizingFunction pivotPoolCoordinatorCredentialsSanitizingFunction() {
        return (data) -> isCredential(data.getKey()) ? data.withSanitizedValue() : data;
    }

    /** Whether a property key, in any relaxed form, is one of the library's credentials. */
    static boolean isCredential(String key) {
        if (key == null) {
            return false;
        }
        String normalized = key.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "");
        return normalized.startsWith("distributed") && CREDENTIAL_SUFFIXES.stream().anyMatch(normalized::endsWith);
    }

    /** The value shown instead of a credential. */
    static final String MASK = SanitizableData.SANITIZED_VALUE;
}
