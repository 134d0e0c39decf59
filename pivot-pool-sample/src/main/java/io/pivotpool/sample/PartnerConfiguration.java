package io.pivotpool.sample;

import java.io.IOException;
import java.net.URI;

import io.pivotpool.pool.PoolSpec;
import io.pivotpool.sample.partner.PartnerClient;
import io.pivotpool.sample.partner.PartnerSimulator;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.type.AnnotatedTypeMetadata;
import org.springframework.util.StringUtils;

/**
 * The pool: one {@code PoolSpec} bean, from which the starter makes the {@code Pool<PartnerClient>}
 * bean named {@code partner-clients}, sized by {@code pivot.pool.pools.partner-clients.*}. The
 * clients call the partner at {@code partner.url}, or the simulator this configuration starts
 * when that is unset.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(PartnerProperties.class)
class PartnerConfiguration {

    @Bean
    PoolSpec<PartnerClient> partnerClientSpec(PartnerProperties properties,
            ObjectProvider<PartnerSimulator> simulator) {
        String apiSecret = apiSecret(properties);
        URI url = properties.getUrl();
        URI partner = (url != null) ? url : simulator.getObject().baseUri();
        return PoolSpec.of("partner-clients", () -> new PartnerClient(partner, properties.getApiKey(), apiSecret))
            .withValidate(PartnerClient::isUsable)
            .withDestroy(PartnerClient::close);
    }

    /**
     * The partner itself, simulated in this process so that the sample runs without a network;
     * not started when {@code partner.url} names another (several instances then share one partner
     * and its limit, as they would in production).
     */
    @Bean(destroyMethod = "close")
    @Conditional(NoExternalPartner.class)
    PartnerSimulator partnerSimulator(PartnerProperties properties) throws IOException {
        return PartnerSimulator.start(properties.getPort(), properties.getApiKey(), apiSecret(properties),
                properties.getMaxConcurrentCalls(), properties.getLatency());
    }

    /** The secret the clients sign with and the simulated partner checks: it has no default. */
    private static String apiSecret(PartnerProperties properties) {
        String apiSecret = properties.getApiSecret();
        if (apiSecret == null || !StringUtils.hasText(apiSecret)) {
            throw new IllegalArgumentException("partner.api-secret must be set");
        }
        return apiSecret;
    }

    static final class NoExternalPartner extends SpringBootCondition {

        @Override
        public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
            String url = context.getEnvironment().getProperty("partner.url");
            return StringUtils.hasText(url) ? ConditionOutcome.noMatch("partner.url is set: the partner is external")
                    : ConditionOutcome.match("partner.url is not set: the partner is simulated here");
        }
    }
}
