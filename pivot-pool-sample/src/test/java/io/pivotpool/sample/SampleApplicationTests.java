package io.pivotpool.sample;

import java.util.List;
import java.util.stream.IntStream;

import io.pivotpool.sample.partner.PartnerSimulator;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.resttestclient.autoconfigure.AutoConfigureRestTestClient;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.http.HttpStatus;
import org.springframework.test.web.servlet.client.RestTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/** The sample over real HTTP: its endpoints, the partner's view, and the actuator. */
@SpringBootTest(webEnvironment = WebEnvironment.RANDOM_PORT)
@AutoConfigureRestTestClient
class SampleApplicationTests {

    private static final String SECRET = "demo-secret-for-the-simulated-partner";

    @Autowired
    private RestTestClient client;

    @Test
    void quoteShouldComeFromThePartnerThroughAPooledClient() {
        this.client.get()
            .uri("/quotes/ABC-1")
            .exchange()
            .expectStatus()
            .isOk()
            .expectBody()
            .jsonPath("$.sku")
            .isEqualTo("ABC-1")
            .jsonPath("$.currency")
            .isEqualTo("EUR")
            .jsonPath("$.price")
            .value(Double.class, (price) -> assertThat(price).isEqualTo(PartnerSimulator.price("ABC-1").doubleValue()))
            .jsonPath("$.client")
            .isNumber();
    }

    @Test
    void manyQuotesAtOnceShouldNeverExceedThePartnersLimit() {
        List<String> skus = IntStream.rangeClosed(1, 24).mapToObj((i) -> "SKU-" + i).toList();
        this.client.get()
            .uri("/quotes?skus=" + String.join(",", skus))
            .exchange()
            .expectStatus()
            .isOk()
            .expectBody()
            .jsonPath("$.length()")
            .isEqualTo(24)
            .jsonPath("$[23].sku")
            .isEqualTo("SKU-24");
        this.client.get()
            .uri("/partner/stats")
            .exchange()
            .expectStatus()
            .isOk()
            .expectBody()
            .jsonPath("$.limit")
            .isEqualTo(4)
            .jsonPath("$.rejected")
            .isEqualTo(0)
            .jsonPath("$.maxConcurrent")
            .value(Integer.class, (max) -> assertThat(max).isBetween(1, 4));
    }

    @Test
    void actuatorPoolsShouldShowTheInstanceTheCoordinatorAndThePool() {
        this.client.get().uri("/quotes/XYZ-9").exchange().expectStatus().isOk();
        this.client.get()
            .uri("/actuator/pools")
            .exchange()
            .expectStatus()
            .isOk()
            .expectBody()
            .jsonPath("$.instance")
            .isNotEmpty()
            .jsonPath("$.coordinator.requestedBackend")
            .isEqualTo("none")
            .jsonPath("$.coordinator.activeBackend")
            .isEqualTo("noop")
            .jsonPath("$.coordinator.connected")
            .isEqualTo(true)
            .jsonPath("$.coordinator.isLeader")
            .isEqualTo(true)
            .jsonPath("$.coordinator.members.length()")
            .isEqualTo(1)
            .jsonPath("$.coordinator.members[0].metadata.application")
            .isEqualTo("pivot-pool-sample")
            .jsonPath("$.coordinator.lastSync")
            .isNotEmpty()
            .jsonPath("$.pools['partner-clients'].maxSize")
            .isEqualTo(4)
            .jsonPath("$.pools['partner-clients'].borrows")
            .value(Integer.class, (borrows) -> assertThat(borrows).isPositive())
            .jsonPath("$.pools['partner-clients'].created")
            .value(Integer.class, (created) -> assertThat(created).isBetween(2, 4))
            .jsonPath("$.pools['partner-clients'].waitTime.borrows")
            .value(Integer.class, (borrows) -> assertThat(borrows).isPositive())
            .jsonPath("$.pools['partner-clients'].waitTime.count")
            .value(Integer.class, (waited) -> assertThat(waited).isNotNegative())
            .jsonPath("$.pools['partner-clients'].waitTime.p99Ms")
            .isNumber();
    }

    @Test
    void actuatorPoolByNameShouldShowOnePoolAndAnUnknownNameShouldBeNotFound() {
        this.client.get()
            .uri("/actuator/pools/partner-clients")
            .exchange()
            .expectStatus()
            .isOk()
            .expectBody()
            .jsonPath("$.maxSize")
            .isEqualTo(4)
            .jsonPath("$.idle")
            .isNumber();
        this.client.get().uri("/actuator/pools/printers").exchange().expectStatus().isEqualTo(HttpStatus.NOT_FOUND);
    }

    @Test
    void healthShouldShowTheCoordinator() {
        this.client.get()
            .uri("/actuator/health")
            .exchange()
            .expectStatus()
            .isOk()
            .expectBody()
            .jsonPath("$.components.pivotPool.status")
            .isEqualTo("UP")
            .jsonPath("$.components.pivotPool.details.backend")
            .isEqualTo("noop")
            .jsonPath("$.components.pivotPool.details.members")
            .isEqualTo(1);
    }

    @Test
    void metricsShouldCountBorrowsOfThePool() {
        this.client.get().uri("/quotes/M-1").exchange().expectStatus().isOk();
        this.client.get()
            .uri("/actuator/metrics/pivot.pool.borrows?tag=pool:partner-clients")
            .exchange()
            .expectStatus()
            .isOk()
            .expectBody()
            .jsonPath("$.measurements[0].value")
            .value(Double.class, (borrows) -> assertThat(borrows).isGreaterThanOrEqualTo(1.0));
        this.client.get()
            .uri("/actuator/metrics/pivot.coordinator.operation?tag=operation:register")
            .exchange()
            .expectStatus()
            .isOk();
        // The same calls as Observations, which Boot's metrics record as a timer of their name.
        this.client.get()
            .uri("/actuator/metrics/pivot.coordinator.call?tag=operation:register&tag=outcome:success")
            .exchange()
            .expectStatus()
            .isOk();
    }

    @Test
    void noEndpointShouldRevealThePartnerSecret() {
        for (String uri : List.of("/actuator/pools", "/actuator/health", "/actuator/pools/partner-clients")) {
            byte[] body = this.client.get().uri(uri).exchange().expectBody().returnResult().getResponseBodyContent();
            assertThat(new String(body)).as(uri).doesNotContain(SECRET);
        }
    }
}
