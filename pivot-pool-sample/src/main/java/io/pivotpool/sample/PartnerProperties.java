package io.pivotpool.sample;

import java.net.URI;
import java.time.Duration;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;

/** The partner API: simulated in this process, or an external one at {@code partner.url}. */
@ConfigurationProperties("partner")
public class PartnerProperties {

    /**
     * Base URL of an external partner (e.g. http://127.0.0.1:9000) that the clients call instead
     * of the in-process simulator; unset: the simulator runs here, configured by the settings below.
     */
    private @Nullable URI url;

    /** The API key the partner knows this application by. */
    private String apiKey = "sample-app";

    /** The API secret requests are signed with; never logged. */
    private @Nullable String apiSecret;

    /** Concurrent calls the simulated partner allows per API key. */
    private int maxConcurrentCalls = 4;

    /** How long the simulated partner takes to answer. */
    private Duration latency = Duration.ofMillis(50);

    /** Port of the simulated partner on 127.0.0.1; 0 picks a free one. */
    private int port;

    public @Nullable URI getUrl() {
        return this.url;
    }

    public void setUrl(@Nullable URI url) {
        this.url = url;
    }

    public String getApiKey() {
        return this.apiKey;
    }

    public void setApiKey(String apiKey) {
        this.apiKey = apiKey;
    }

    public @Nullable String getApiSecret() {
        return this.apiSecret;
    }

    public void setApiSecret(@Nullable String apiSecret) {
        this.apiSecret = apiSecret;
    }

    public int getMaxConcurrentCalls() {
        return this.maxConcurrentCalls;
    }

    public void setMaxConcurrentCalls(int maxConcurrentCalls) {
        this.maxConcurrentCalls = maxConcurrentCalls;
    }

    public Duration getLatency() {
        return this.latency;
    }

    public void setLatency(Duration latency) {
        this.latency = latency;
    }

    public int getPort() {
        return this.port;
    }

    public void setPort(int port) {
        this.port = port;
    }
}
