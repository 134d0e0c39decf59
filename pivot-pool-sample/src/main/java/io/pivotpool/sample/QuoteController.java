package io.pivotpool.sample;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import io.pivotpool.pool.Lease;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolExhaustedException;
import io.pivotpool.sample.partner.PartnerClient;
import io.pivotpool.sample.partner.PartnerClient.PartnerException;
import io.pivotpool.sample.partner.PartnerClient.Quote;
import io.pivotpool.sample.partner.PartnerSimulator;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** Quotes through the pooled partner clients. */
@RestController
class QuoteController implements DisposableBean {

    private static final int MAX_SKUS = 50;

    private final Pool<PartnerClient> partnerClients;

    /** Absent when partner.url names an external partner. */
    private final ObjectProvider<PartnerSimulator> partner;

    /** Fans a multi-SKU request out; the pool, not this executor, bounds the calls to the partner. */
    private final ExecutorService fanOut = Executors.newFixedThreadPool(16);

    QuoteController(Pool<PartnerClient> partnerClients, ObjectProvider<PartnerSimulator> partner) {
        this.partnerClients = partnerClients;
        this.partner = partner;
    }

    @GetMapping("/quotes/{sku}")
    Quote quote(@PathVariable String sku) {
        return quoteThroughPool(sku);
    }

    /** Many SKUs at once: more parallel requests than the partner allows, queued by the pool. */
    @GetMapping("/quotes")
    List<Quote> quotes(@RequestParam List<String> skus) {
        if (skus.size() > MAX_SKUS) {
            throw new IllegalArgumentException("at most " + MAX_SKUS + " SKUs per request");
        }
        List<CompletableFuture<Quote>> quotes = skus.stream()
            .map((sku) -> CompletableFuture.supplyAsync(() -> quoteThroughPool(sku), this.fanOut))
            .toList();
        try {
            return quotes.stream().map(CompletableFuture::join).toList();
        }
        catch (CompletionException ex) {
            throw (ex.getCause() instanceof RuntimeException cause) ? cause : ex;
        }
    }

    /** What the simulated partner saw: the pool kept this instance within its limit. */
    @GetMapping("/partner/stats")
    ResponseEntity<?> partnerStats() {
        PartnerSimulator partner = this.partner.getIfAvailable();
        if (partner == null) {
            return ResponseEntity.of(ProblemDetail.forStatusAndDetail(HttpStatus.NOT_FOUND,
                    "The partner is external (partner.url): ask it for its statistics")).build();
        }
        return ResponseEntity.ok(partner.stats());
    }

    /** A client that broke is not lent again: the pool validates idle clients with isUsable(). */
    private Quote quoteThroughPool(String sku) {
        try (Lease<PartnerClient> lease = this.partnerClients.borrow()) {
            return lease.get().quote(sku);
        }
    }

    @ExceptionHandler(PoolExhaustedException.class)
    ProblemDetail exhausted(PoolExhaustedException ex) {
        return ProblemDetail.forStatusAndDetail(HttpStatus.SERVICE_UNAVAILABLE, ex.getMessage());
    }

    @ExceptionHandler(PartnerException.class)
    ProblemDetail partnerFailed(PartnerException ex) {
        return ProblemDetail.forStatusAndDetail(HttpStatus.BAD_GATEWAY, ex.getMessage());
    }

    @ExceptionHandler(IllegalArgumentException.class)
    ProblemDetail badRequest(IllegalArgumentException ex) {
        return ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, ex.getMessage());
    }

    @Override
    public void destroy() {
        this.fanOut.shutdownNow();
    }
}
