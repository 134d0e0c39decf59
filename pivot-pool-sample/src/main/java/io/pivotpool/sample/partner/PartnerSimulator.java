package io.pivotpool.sample.partner;

import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * The partner's quote API, simulated in this process so that the sample needs no network: an
 * HTTP server on the loopback interface that answers {@code GET /v1/quotes/{sku}} after a short
 * latency, checks each request's HMAC signature, and, like the real partner, serves at most
 * {@code maxConcurrentCalls} requests per API key at once: one more gets {@code 429 Too Many
 * Requests}. It counts what it saw, so that anyone can check that the pooled clients kept within
 * the limit.
 */
public final class PartnerSimulator implements AutoCloseable {

    private final HttpServer server;

    private final ExecutorService executor;

    private final String apiKey;

    private final byte[] signingKey;

    private final Semaphore permits;

    private final int maxConcurrentCalls;

    private final long latencyMillis;

    private final AtomicInteger inFlight = new AtomicInteger();

    private final AtomicInteger maxInFlight = new AtomicInteger();

    /** The peak since {@link #takeMaxInFlight()} was last called. */
    private final AtomicInteger windowMaxInFlight = new AtomicInteger();

    private final AtomicLong served = new AtomicLong();

    private final AtomicLong rejected = new AtomicLong();

    private PartnerSimulator(HttpServer server, ExecutorService executor, String apiKey, byte[] signingKey,
            int maxConcurrentCalls, Duration latency) {
        this.server = server;
        this.executor = executor;
        this.apiKey = apiKey;
        this.signingKey = signingKey;
        this.maxConcurrentCalls = maxConcurrentCalls;
        this.permits = new Semaphore(maxConcurrentCalls);
        this.latencyMillis = latency.toMillis();
    }

    /** Starts the partner on 127.0.0.1 ({@code port} 0 picks a free one). */
    public static PartnerSimulator start(int port, String apiKey, String apiSecret, int maxConcurrentCalls,
            Duration latency) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
        // More threads than the partner allows, so that a client that ignored the limit would be caught.
        ExecutorService executor = Executors.newFixedThreadPool(4 * maxConcurrentCalls + 4, (runnable) -> {
            Thread thread = new Thread(runnable, "partner-simulator");
            thread.setDaemon(true);
            return thread;
        });
        server.setExecutor(executor);
        PartnerSimulator partner = new PartnerSimulator(server, executor, apiKey,
                SigningKeys.derive(apiSecret).getEncoded(), maxConcurrentCalls, latency);
        server.createContext("/v1/quotes/", partner::handleQuote);
        server.start();
        return partner;
    }

    public URI baseUri() {
        InetSocketAddress address = this.server.getAddress();
        return URI.create("http://" + address.getHostString() + ":" + address.getPort());
    }

    public int maxConcurrentCalls() {
        return this.maxConcurrentCalls;
    }

    public Stats stats() {
        return new Stats(this.maxConcurrentCalls, this.served.get(), this.rejected.get(), this.maxInFlight.get());
    }

    /** Calls being served now. */
    public int inFlight() {
        return this.inFlight.get();
    }

    /**
     * The most calls served at once since the previous call of this method (or the start), for a
     * checker that samples: no peak between two samples goes unseen. The next window starts at the
     * number in flight now, so a peak reached while this runs is reported now or next time.
     */
    public int takeMaxInFlight() {
        return this.windowMaxInFlight.getAndSet(this.inFlight.get());
    }

    private void handleQuote(HttpExchange exchange) throws IOException {
        try {
            String path = exchange.getRequestURI().getPath();
            String sku = path.substring("/v1/quotes/".length());
            if (!"GET".equals(exchange.getRequestMethod()) || sku.isEmpty() || !sku.matches("[A-Za-z0-9-]{1,40}")) {
                respond(exchange, 400, "bad request");
                return;
            }
            if (!this.apiKey.equals(exchange.getRequestHeaders().getFirst("X-Api-Key")) || !signedCorrectly(exchange)) {
                respond(exchange, 401, "bad signature");
                return;
            }
            if (!this.permits.tryAcquire()) {
                this.rejected.incrementAndGet();
                respond(exchange, 429, "too many concurrent calls for this API key (limit " + this.maxConcurrentCalls
                        + ")");
                return;
            }
            // The call ends before its answer is sent: a client that has read the answer may call
            // again at once, and must find its permit free.
            boolean answered;
            try {
                int now = this.inFlight.incrementAndGet();
                this.maxInFlight.accumulateAndGet(now, Math::max);
                this.windowMaxInFlight.accumulateAndGet(now, Math::max);
                Thread.sleep(this.latencyMillis);
                answered = true;
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                answered = false;
            }
            finally {
                this.inFlight.decrementAndGet();
                this.permits.release();
            }
            if (answered) {
                this.served.incrementAndGet();
                respond(exchange, 200, "EUR " + price(sku).toPlainString());
            }
            else {
                respond(exchange, 503, "shutting down");
            }
        }
        finally {
            exchange.close();
        }
    }

    private boolean signedCorrectly(HttpExchange exchange) {
        String signature = exchange.getRequestHeaders().getFirst("X-Signature");
        String expected = SigningKeys.sign(this.signingKey,
                exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath());
        return signature != null && MessageDigest.isEqual(signature.getBytes(StandardCharsets.US_ASCII),
                expected.getBytes(StandardCharsets.US_ASCII));
    }

    /** The partner's price of a SKU: stable, so that answers can be checked. */
    public static BigDecimal price(String sku) {
        return BigDecimal.valueOf(Math.floorMod(sku.hashCode(), 10_000) + 100, 2).setScale(2, RoundingMode.UNNECESSARY);
    }

    private static void respond(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        this.server.stop(0);
        this.executor.shutdownNow();
    }

    /**
     * What the partner saw.
     *
     * @param limit concurrent calls allowed per API key
     * @param served calls answered
     * @param rejected calls refused with 429 because the limit was reached
     * @param maxConcurrent the most calls it ever served at once
     */
    public record Stats(int limit, long served, long rejected, int maxConcurrent) {
    }
}
