package io.pivotpool.sample;

import java.io.IOException;

import io.pivotpool.pool.PoolSpec;
import io.pivotpool.sample.partner.PartnerClient;
import io.pivotpool.sample.partner.PartnerSimulator;

import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.util.Assert;

/**
 * The pool: one {@code PoolSpec} bean, from which the starter makes the {@code Pool<PartnerClient>}
 * bean named {@code partner-clients}, sized by {@code pivot.pool.pools.partner-clients.*}.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(PartnerProperties.class)
class PartnerConfiguration {

    @Bean
    PoolSpec<PartnerClient> partnerClientSpec(PartnerSimulator partner, PartnerProperties properties) {
        Assert.hasText(properties.getApiSecret(), "partner.api-secret must be set");
        return PoolSpec.of("partner-clients",
                () -> new PartnerClient(partner.baseUri(), properties.getApiKey(), properties.getApiSecret()))
            .withValidate(PartnerClient::isUsable)
            .withDestroy(PartnerClient::close);
    }

    /** The partner itself, simulated in this process so that the sample runs without a network. */
    @Bean(destroyMethod = "close")
    PartnerSimulator partnerSimulator(PartnerProperties properties) throws IOException {
        return PartnerSimulator.start(properties.getPort(), properties.getApiKey(), properties.getApiSecret(),
                properties.getMaxConcurrentCalls(), properties.getLatency());
    }
}
