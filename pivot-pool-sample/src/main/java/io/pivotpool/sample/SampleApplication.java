package io.pivotpool.sample;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * Quotes from a partner API that allows four concurrent calls per API key, served through a pool
 * of expensive {@link io.pivotpool.sample.partner.PartnerClient}s. Try {@code GET /quotes/ABC-1},
 * {@code GET /quotes?skus=A,B,C,D,E,F,G,H}, {@code GET /partner/stats} and {@code GET /actuator/pools}.
 */
@SpringBootApplication
public class SampleApplication {

    public static void main(String[] args) {
        SpringApplication.run(SampleApplication.class, args);
    }
}
