package io.pivotpool.sample.partner;

import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A client of the partner's quote API, and the reason this application pools: making one is
 * expensive (it derives the request signing key from the API secret, tens of milliseconds of
 * CPU, and builds an HTTP client with its own connection pool and threads), and the partner
 * allows only a few concurrent calls per API key. A pool of at most that many clients makes each
 * client once and, as a side effect, never lets this instance exceed the partner's limit.
 *
 * <p>Not thread-safe by contract: one borrower at a time, which is what a pool guarantees.
 */
public final class PartnerClient implements AutoCloseable {

    private static final AtomicInteger ids = new AtomicInteger();

    private final int id = ids.incrementAndGet();

    private final URI baseUri;

    private final String apiKey;

    private final byte[] signingKey;

    private final ExecutorService executor;

    private final HttpClient http;

    private volatile boolean broken;

    public PartnerClient(URI baseUri, String apiKey, String apiSecret) {
        this.baseUri = baseUri;
        this.apiKey = apiKey;
        this.signingKey = SigningKeys.derive(apiSecret).getEncoded();
        this.executor = Executors.newSingleThreadExecutor((runnable) -> {
            Thread thread = new Thread(runnable, "partner-client-" + this.id);
            thread.setDaemon(true);
            return thread;
        });
        this.http = HttpClient.newBuilder()
            .executor(this.executor)
            .connectTimeout(Duration.ofSeconds(2))
            .version(HttpClient.Version.HTTP_1_1)
            .build();
    }

    /** Which pooled client answered, for the demo's output. */
    public int id() {
        return this.id;
    }

    /**
     * Asks the partner for a quote.
     *
     * @throws PartnerException if the partner refused or could not be reached; after a transport
     *     failure the client is {@link #isUsable() unusable}
     */
    public Quote quote(String sku) {
        String path = "/v1/quotes/" + sku;
        HttpRequest request = HttpRequest.newBuilder(this.baseUri.resolve(path))
            .timeout(Duration.ofSeconds(5))
            .header("X-Api-Key", this.apiKey)
            .header("X-Signature", SigningKeys.sign(this.signingKey, "GET " + path))
            .GET()
            .build();
        long start = System.nanoTime();
        HttpResponse<String> response;
        try {
            response = this.http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        }
        catch (IOException ex) {
            this.broken = true;
            throw new PartnerException(502, "partner unreachable: " + ex.getMessage());
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new PartnerException(503, "interrupted while calling the partner");
        }
        if (response.statusCode() != 200) {
            throw new PartnerException(response.statusCode(), "partner answered " + response.statusCode() + ": "
                    + response.body());
        }
        String[] currencyAndPrice = response.body().split(" ", 2);
        return new Quote(sku, currencyAndPrice[0], new BigDecimal(currencyAndPrice[1]), this.id,
                Duration.ofNanos(System.nanoTime() - start).toMillis());
    }

    /** Whether the client may be lent again (the pool's validation). */
    public boolean isUsable() {
        return !this.broken;
    }

    @Override
    public void close() {
        this.executor.shutdownNow();
    }

    @Override
    public String toString() {
        return "PartnerClient#" + this.id;
    }

    /**
     * A price quote.
     *
     * @param sku the product
     * @param currency ISO currency code
     * @param price the price
     * @param client the pooled client that asked
     * @param partnerMillis how long the partner took
     */
    public record Quote(String sku, String currency, BigDecimal price, int client, long partnerMillis) {
    }

    /** The partner refused a call or could not be reached. */
    public static class PartnerException extends RuntimeException {

        private static final long serialVersionUID = 1L;

        private final int status;

        public PartnerException(int status, String message) {
            super(message);
            this.status = status;
        }

        public int getStatus() {
            return this.status;
        }
    }
}
