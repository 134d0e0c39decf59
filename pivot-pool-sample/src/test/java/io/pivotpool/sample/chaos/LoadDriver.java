package io.pivotpool.sample.chaos;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Borrowers over HTTP: a fixed set of client threads per instance, each sending {@code GET
 * /quotes/{sku}} one after the other while its index is below the instance's load level, each
 * request bounded in time. Every answer is classified: a quote, the pool's own timeout (the sample
 * maps {@code PoolExhaustedException} to a 503 problem detail whose detail says "exhausted"), a
 * failure while the instance was killed or frozen (expected), or an error: anything else,
 * including the partner's 429 (which the sample turns into a 502) and any other 5xx.
 */
final class LoadDriver implements AutoCloseable {

    static final String OK = "quote (200)";

    static final String POOL_TIMEOUT = "pool timeout (503 exhausted)";

    static final String INSTANCE_DOWN = "no answer from a killed or frozen instance (expected)";

    private static final int MAX_EXAMPLES = 100;

    private final HttpClient http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(2))
        .build();

    private final int clientsPerInstance;

    private final Duration requestTimeout;

    private final Map<SampleInstance, AtomicInteger> levels = new ConcurrentHashMap<>();

    private final List<Thread> clients = new CopyOnWriteArrayList<>();

    private final Map<String, LongAdder> outcomes = new ConcurrentHashMap<>();

    private final List<ErrorExample> errorExamples = new CopyOnWriteArrayList<>();

    /** Requests on their way: the load has stopped when levels are 0 and this is 0. */
    private final AtomicInteger inFlight = new AtomicInteger();

    private final AtomicLong skus = new AtomicLong();

    private final long startNanos;

    private volatile boolean running = true;

    LoadDriver(int clientsPerInstance, Duration requestTimeout, long startNanos) {
        this.clientsPerInstance = clientsPerInstance;
        this.requestTimeout = requestTimeout;
        this.startNanos = startNanos;
    }

    /** Gives the instance its client threads, idle until {@link #level} asks for load. */
    void add(SampleInstance instance) {
        AtomicInteger level = new AtomicInteger();
        this.levels.put(instance, level);
        for (int index = 0; index < this.clientsPerInstance; index++) {
            int clientIndex = index;
            Thread client = new Thread(() -> run(instance, level, clientIndex),
                    "load-" + instance.name() + "-" + index);
            client.setDaemon(true);
            this.clients.add(client);
            client.start();
        }
    }

    /** How many of the instance's clients send requests (0 to clientsPerInstance). */
    void level(SampleInstance instance, int clients) {
        if (clients < 0 || clients > this.clientsPerInstance) {
            throw new IllegalArgumentException("level " + clients + " outside 0.." + this.clientsPerInstance);
        }
        this.levels.get(instance).set(clients);
    }

    /** Stops sending new requests and waits, bounded, for those on their way; false if some remain. */
    boolean stopAndAwaitIdle(Duration timeout) {
        this.levels.values().forEach((level) -> level.set(0));
        long deadline = System.nanoTime() + timeout.toNanos();
        while (this.inFlight.get() > 0 && System.nanoTime() < deadline) {
            SampleInstance.sleep(20);
        }
        return this.inFlight.get() == 0;
    }

    /** Outcome counts by kind so far. */
    Map<String, Long> outcomes() {
        Map<String, Long> snapshot = new TreeMap<>();
        this.outcomes.forEach((kind, count) -> snapshot.put(kind, count.sum()));
        return snapshot;
    }

    static boolean isError(String kind) {
        return !kind.equals(OK) && !kind.equals(POOL_TIMEOUT) && !kind.equals(INSTANCE_DOWN);
    }

    /** The first errors, for the report. */
    List<ErrorExample> errorExamples() {
        return List.copyOf(this.errorExamples);
    }

    private void run(SampleInstance instance, AtomicInteger level, int index) {
        while (this.running && !Thread.currentThread().isInterrupted()) {
            if (index >= level.get() || instance.state() == SampleInstance.State.KILLED) {
                pause(20);
                continue;
            }
            String sku = "SKU-" + (this.skus.incrementAndGet() % 1000);
            HttpRequest request = HttpRequest.newBuilder(instance.uri("/quotes/" + sku))
                .timeout(this.requestTimeout)
                .build();
            this.inFlight.incrementAndGet();
            long start = System.nanoTime();
            try {
                HttpResponse<String> response = this.http.send(request, HttpResponse.BodyHandlers.ofString());
                record(instance, start, classify(response), response.body());
            }
            catch (IOException ex) {
                String kind = instance.disruptedBetween(start, System.nanoTime()) ? INSTANCE_DOWN
                        : (ex instanceof HttpTimeoutException) ? "no answer within " + this.requestTimeout.toMillis()
                                + " ms" : "transport error (" + ex.getClass().getSimpleName() + ")";
                record(instance, start, kind, String.valueOf(ex.getMessage()));
                // A refused connection fails at once: do not spin.
                pause(50);
            }
            catch (InterruptedException ex) {
                return;
            }
            finally {
                this.inFlight.decrementAndGet();
            }
        }
    }

    private static String classify(HttpResponse<String> response) {
        int status = response.statusCode();
        String body = response.body();
        if (status == 200 && body.contains("\"sku\"")) {
            return OK;
        }
        if (status == 503 && body.contains("exhausted")) {
            return POOL_TIMEOUT;
        }
        if (status == 502 && body.contains("partner answered 429")) {
            return "partner refused: too many concurrent calls (429, as 502)";
        }
        return "HTTP " + status;
    }

    private void record(SampleInstance instance, long start, String kind, String detail) {
        this.outcomes.computeIfAbsent(kind, (key) -> new LongAdder()).increment();
        if (isError(kind) && this.errorExamples.size() < MAX_EXAMPLES) {
            this.errorExamples.add(new ErrorExample(start, String.format("t=%.2fs %s: %s: %s",
                    (start - this.startNanos) / 1e9, instance.name(), kind, abbreviate(detail))));
        }
    }

    private static String abbreviate(String text) {
        String line = text.replace('\n', ' ');
        return (line.length() > 200) ? line.substring(0, 200) + "..." : line;
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops every client thread; requests still on their way are abandoned (bounded by their timeout). */
    @Override
    public void close() {
        this.running = false;
        List<Thread> threads = new ArrayList<>(this.clients);
        threads.forEach(Thread::interrupt);
        for (Thread thread : threads) {
            try {
                thread.join(1000);
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** A borrower error: when its request started (System.nanoTime()), and what happened. */
    record ErrorExample(long atNanos, String text) {
    }
}
