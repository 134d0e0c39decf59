package io.pivotpool.pool;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/** Creates {@link Resource}s, counts the living ones and can be told to fail. */
final class Factory {

    final AtomicInteger created = new AtomicInteger();

    final AtomicInteger destroyed = new AtomicInteger();

    final AtomicInteger live = new AtomicInteger();

    final AtomicInteger maxLive = new AtomicInteger();

    final AtomicBoolean failing = new AtomicBoolean();

    final List<Resource> all = new CopyOnWriteArrayList<>();

    Resource create() {
        if (this.failing.get()) {
            throw new IllegalStateException("backend down");
        }
        Resource resource = new Resource(this.created.incrementAndGet());
        this.maxLive.accumulateAndGet(this.live.incrementAndGet(), Math::max);
        this.all.add(resource);
        return resource;
    }

    void destroy(Resource resource) {
        if (resource.destroyed) {
            throw new AssertionError(resource + " destroyed twice");
        }
        resource.destroyed = true;
        this.live.decrementAndGet();
        this.destroyed.incrementAndGet();
    }

    PoolSpec<Resource> spec(String name) {
        return PoolSpec.of(name, this::create).withDestroy(this::destroy).withReset((r) -> r.resets++);
    }
}
