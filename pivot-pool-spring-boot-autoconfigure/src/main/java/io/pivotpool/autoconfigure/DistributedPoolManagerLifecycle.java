package io.pivotpool.autoconfigure;

import io.pivotpool.distributed.DistributedPoolManager;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.context.SmartLifecycle;

/**
 * Starts coordination once the context is refreshed, when every pool bean exists, and leaves the
 * cluster (gives up leadership, gives back grants, unregisters) when the context stops, in
 * {@link #PHASE}: after the web server has drained and stopped, and before the connections
 * coordination runs on stop. Spring Data Redis' {@code LettuceConnectionFactory} is a
 * {@link SmartLifecycle} of phase 0: left to the manager's destroy callback, leaving would come
 * after the application's shared factory had stopped, and the cluster would wait a whole
 * leader-ttl for a new leader. The destroy callback still closes the manager (idempotently) when
 * start-up fails before this lifecycle runs.
 */
final class DistributedPoolManagerLifecycle implements SmartLifecycle {

    /**
     * Below the web server's graceful shutdown ({@code DEFAULT_PHASE - 1024}) and its stop
     * ({@code DEFAULT_PHASE - 2048}), and message listener containers (at or near
     * {@code DEFAULT_PHASE}), so the pools keep serving while they drain; above the connection
     * factories (phase 0 unless configured), so that leaving the cluster still reaches the backend.
     */
    static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 4096;

    private static final Log logger = LogFactory.getLog(DistributedPoolManagerLifecycle.class);

    private final DistributedPoolManager manager;

    private volatile boolean running;

    private volatile boolean left;

    DistributedPoolManagerLifecycle(DistributedPoolManager manager) {
        this.manager = manager;
    }

    @Override
    public void start() {
        if (this.left) {
            // A manager does not start again once closed: the context was stopped, then started.
            logger.warn("Pivot Pool left the cluster when the context stopped and does not join again on restart; "
                    + "the pools keep running with their local limits");
            return;
        }
        this.manager.start();
        this.running = true;
    }

    /** Leaves the cluster while the backend's connection still works; idempotent. */
    @Override
    public void stop() {
        this.running = false;
        this.left = true;
        this.manager.close();
    }

    @Override
    public boolean isRunning() {
        return this.running;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }

    /** A context pause (not a stop, nor a close) leaves coordination running. */
    @Override
    public boolean isPauseable() {
        return false;
    }
}
