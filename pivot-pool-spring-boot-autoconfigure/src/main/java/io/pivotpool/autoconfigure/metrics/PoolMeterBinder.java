package io.pivotpool.autoconfigure.metrics;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;
import java.util.function.ToLongFunction;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolStats;

/**
 * {@code pivot.pool.*} meters of every pool, tagged {@code pool}: gauges of the sizes, function
 * counters of the lifetime counters, and a timer of the borrows that had to wait. They read
 * {@link Pool#stats()} when the registry is scraped, once per pool and scrape (see
 * {@link ScrapeSnapshot}), so the borrow path pays nothing for them and a scrape scans the slots
 * once.
 *
 * <p>Every name reads unambiguously in Prometheus: no name ends in a suffix that Prometheus
 * reserves or strips ({@code _created}, {@code _total}, {@code _count}, {@code _sum},
 * {@code _bucket}, {@code _info}) or that Micrometer gives a timer's companions ({@code _max}).
 */
public class PoolMeterBinder implements MeterBinder {

    private final Supplier<? extends Iterable<? extends Pool<?>>> pools;

    /** @param pools the pools to measure, read when bound to a registry */
    public PoolMeterBinder(Supplier<? extends Iterable<? extends Pool<?>>> pools) {
        this.pools = pools;
    }

    /**
     * The wait timers of each pool, one per registry it is bound to: the pool reports each wait
     * to one listener, which records it in all of them (a real {@link Timer}, so that Boot's
     * {@code management.metrics.distribution.*} settings apply to it).
     */
    private final Map<Pool<?>, List<Timer>> waitTimers = Collections.synchronizedMap(new WeakHashMap<>());

    private List<Timer> waitTimers(Pool<?> pool) {
        return this.waitTimers.computeIfAbsent(pool, (p) -> {
            List<Timer> timers = new CopyOnWriteArrayList<>();
            p.setWaitListener((nanos) -> {
                for (Timer timer : timers) {
                    timer.record(nanos, TimeUnit.NANOSECONDS);
                }
            });
            return timers;
        });
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        for (Pool<?> pool : this.pools.get()) {
            new PoolMeters(registry, pool, waitTimers(pool)).bind();
        }
    }

    /** The meters of one pool, sharing one snapshot per scrape. */
    private static final class PoolMeters {

        private final MeterRegistry registry;

        /**
         * What the meters watch: Micrometer holds it weakly, and the pool bean keeps it alive. The
         * snapshot is reached through the meters' functions, which Micrometer holds strongly.
         */
        private final Pool<?> pool;

        private final Tags tags;

        private final ScrapeSnapshot<PoolStats> stats;

        private final List<Timer> waitTimers;

        PoolMeters(MeterRegistry registry, Pool<?> pool, List<Timer> waitTimers) {
            this.registry = registry;
            this.waitTimers = waitTimers;
            this.pool = pool;
            this.tags = Tags.of("pool", pool.name());
            this.stats = new ScrapeSnapshot<>(pool::stats);
        }

        void bind() {
            gauge("pivot.pool.active", "Objects borrowed now", PoolStats::active);
            gauge("pivot.pool.idle", "Objects ready to be borrowed", PoolStats::idle);
            gauge("pivot.pool.waiting", "Borrowers waiting for an object", PoolStats::waiting);
            gauge("pivot.pool.size", "Live pooled objects, idle and active", PoolStats::size);
            gauge("pivot.pool.max.size", "This instance's size limit", PoolStats::maxSize);
            counter("pivot.pool.created.objects", "Objects created", PoolStats::created);
            counter("pivot.pool.destroyed.objects", "Objects destroyed", PoolStats::destroyed);
            counter("pivot.pool.overflow.objects", "Objects created beyond max-size by the overflow strategy",
                    PoolStats::overflowCreated);
            counter("pivot.pool.borrows", "Successful borrows", PoolStats::borrows);
            counter("pivot.pool.timeouts", "Borrows that gave up waiting", PoolStats::timeouts);
            counter("pivot.pool.creation.failures", "Object factory calls that threw", PoolStats::creationFailures);
            counter("pivot.pool.leaks", "Leases held past the leak detection threshold", PoolStats::leaks);
            Timer wait = Timer.builder("pivot.pool.wait")
                .tags(this.tags)
                .description("How long borrows that found no free object waited for one (served or timed out)")
                .register(this.registry);
            this.waitTimers.add(wait);
        }

        private void gauge(String name, String description, ToDoubleFunction<PoolStats> value) {
            ScrapeSnapshot<PoolStats>.Reader stats = this.stats.reader();
            Gauge.builder(name, this.pool, (p) -> value.applyAsDouble(stats.get()))
                .tags(this.tags)
                .description(description)
                .register(this.registry);
        }

        private void counter(String name, String description, ToLongFunction<PoolStats> value) {
            ScrapeSnapshot<PoolStats>.Reader stats = this.stats.reader();
            FunctionCounter.builder(name, this.pool, (p) -> value.applyAsLong(stats.get()))
                .tags(this.tags)
                .description(description)
                .register(this.registry);
        }
    }
}
