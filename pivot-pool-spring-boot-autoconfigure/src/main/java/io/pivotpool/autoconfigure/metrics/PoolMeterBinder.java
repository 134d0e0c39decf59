package io.pivotpool.autoconfigure.metrics;

import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;
import java.util.function.ToLongFunction;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolStats;

/**
 * {@code pivot.pool.*} meters of every pool, tagged {@code pool}: gauges of the sizes, function
 * counters of the lifetime counters and a function timer of the borrow waits. All read
 * {@link Pool#stats()} when the registry is scraped, so the borrow path pays nothing for them.
 */
public class PoolMeterBinder implements MeterBinder {

    private final Supplier<? extends Iterable<? extends Pool<?>>> pools;

    /** @param pools the pools to measure, read when bound to a registry */
    public PoolMeterBinder(Supplier<? extends Iterable<? extends Pool<?>>> pools) {
        this.pools = pools;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        for (Pool<?> pool : this.pools.get()) {
            bind(registry, pool);
        }
    }

    private static void bind(MeterRegistry registry, Pool<?> pool) {
        Tags tags = Tags.of("pool", pool.name());
        gauge(registry, pool, tags, "active", "Objects borrowed now", PoolStats::active);
        gauge(registry, pool, tags, "idle", "Objects ready to be borrowed", PoolStats::idle);
        gauge(registry, pool, tags, "waiting", "Borrowers waiting for an object", PoolStats::waiting);
        gauge(registry, pool, tags, "size", "Live pooled objects, idle and active", PoolStats::size);
        gauge(registry, pool, tags, "max", "This instance's size limit", PoolStats::maxSize);
        counter(registry, pool, tags, "created", "Objects created", PoolStats::created);
        counter(registry, pool, tags, "destroyed", "Objects destroyed", PoolStats::destroyed);
        counter(registry, pool, tags, "borrows", "Successful borrows", PoolStats::borrows);
        counter(registry, pool, tags, "timeouts", "Borrows that gave up waiting", PoolStats::timeouts);
        counter(registry, pool, tags, "overflow", "Objects created beyond max-size by the overflow strategy",
                PoolStats::overflowCreated);
        counter(registry, pool, tags, "creation.failures", "Object factory calls that threw",
                PoolStats::creationFailures);
        counter(registry, pool, tags, "leaks", "Leases held past the leak detection threshold", PoolStats::leaks);
        FunctionTimer.builder("pivot.pool.wait", pool, (p) -> p.stats().waitTime().count(),
                (p) -> p.stats().waitTime().totalNanos(), TimeUnit.NANOSECONDS)
            .tags(tags)
            .description("How long borrows waited for an object")
            .register(registry);
    }

    private static void gauge(MeterRegistry registry, Pool<?> pool, Tags tags, String name, String description,
            ToDoubleFunction<PoolStats> value) {
        Gauge.builder("pivot.pool." + name, pool, (p) -> value.applyAsDouble(p.stats()))
            .tags(tags)
            .description(description)
            .register(registry);
    }

    private static void counter(MeterRegistry registry, Pool<?> pool, Tags tags, String name, String description,
            ToLongFunction<PoolStats> value) {
        FunctionCounter.builder("pivot.pool." + name, pool, (p) -> value.applyAsLong(p.stats()))
            .tags(tags)
            .description(description)
            .register(registry);
    }
}
