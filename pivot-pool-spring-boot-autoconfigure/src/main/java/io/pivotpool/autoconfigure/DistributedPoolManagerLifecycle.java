package io.pivotpool.autoconfigure;

import io.pivotpool.distributed.DistributedPoolManager;

import org.springframework.context.SmartLifecycle;

/**
 * Starts coordination once the context is refreshed, when every pool bean exists; leaving the
 * cluster is the manager's destroy callback, so that it also happens when start-up fails.
 */
final class DistributedPoolManagerLifecycle implements SmartLifecycle {

    private final DistributedPoolManager manager;

    private volatile boolean running;

    DistributedPoolManagerLifecycle(DistributedPoolManager manager) {
        this.manager = manager;
    }

    @Override
    public void start() {
        this.manager.start();
        this.running = true;
    }

    /** Leaves the manager running until the context closes: a stopped context may start again. */
    @Override
    public void stop() {
        this.running = false;
    }

    @Override
    public boolean isRunning() {
        return this.running;
    }
}
