package io.pivotpool.sample;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import io.pivotpool.sample.partner.PartnerSimulator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code partner.url}: the clients call an external partner, and no simulator runs in the instance. */
class SampleExternalPartnerTests {

    private static final String SECRET = "demo-secret-for-the-simulated-partner";

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private PartnerSimulator partner;

    private ConfigurableApplicationContext instance;

    @BeforeEach
    void startPartner() throws Exception {
        this.partner = PartnerSimulator.start(0, "sample-app", SECRET, 4, Duration.ofMillis(10));
    }

    @AfterEach
    void stopAll() {
        if (this.instance != null) {
            this.instance.close();
        }
        this.partner.close();
    }

    @Test
    void quotesShouldComeFromThePartnerAtPartnerUrlAndNoSimulatorShouldRun() throws Exception {
        this.instance = new SpringApplicationBuilder(SampleApplication.class).run("--server.port=0",
                "--partner.url=" + this.partner.baseUri(), "--spring.jmx.enabled=false");

        HttpResponse<String> quote = get("/quotes/ABC-1");
        assertThat(quote.statusCode()).isEqualTo(200);
        assertThat(quote.body()).contains("\"sku\":\"ABC-1\"")
            .contains(PartnerSimulator.price("ABC-1").toPlainString());
        assertThat(this.partner.stats().served()).isEqualTo(1);
        assertThat(this.instance.getBeansOfType(PartnerSimulator.class)).isEmpty();
        HttpResponse<String> stats = get("/partner/stats");
        assertThat(stats.statusCode()).isEqualTo(404);
        assertThat(stats.body()).contains("partner.url");
    }

    private HttpResponse<String> get(String path) throws Exception {
        int port = ((WebServerApplicationContext) this.instance).getWebServer().getPort();
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(5))
            .build();
        return this.http.send(request, HttpResponse.BodyHandlers.ofString());
    }
}
