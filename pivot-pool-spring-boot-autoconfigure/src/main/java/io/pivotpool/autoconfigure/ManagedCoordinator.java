package io.pivotpool.autoconfigure;

import java.util.ArrayList;
import java.util.List;

import io.pivotpool.coordinator.CoordinatorObserver;
import io.pivotpool.distributed.internal.ActiveCoordinator;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ObjectProvider;

/**
 * The coordinator the {@code DistributedPoolManager} runs on, and whether this context must close
 * it: a coordinator that the selection created (or the no-op one it fell back to) belongs to us,
 * while a user's {@code Coordinator} bean is closed by the container that made it.
 */
final class ManagedCoordinator implements DisposableBean {

    private static final Log logger = LogFactory.getLog(ManagedCoordinator.class);

    private final ActiveCoordinator active;

    private final boolean owned;

    private ManagedCoordinator(ActiveCoordinator active, boolean owned) {
        this.active = active;
        this.owned = owned;
    }

    /** A coordinator selected by name; closed with the context. */
    static ManagedCoordinator selected(ActiveCoordinator active, ObjectProvider<CoordinatorObserver> observers) {
        return new ManagedCoordinator(observe(active, observers), true);
    }

    /** A user's coordinator; only the no-op stand-in of a fallback is ours to close. */
    static ManagedCoordinator supplied(ActiveCoordinator active, ObjectProvider<CoordinatorObserver> observers) {
        return new ManagedCoordinator(observe(active, observers), active.fellBack());
    }

    /** Every observer (the Micrometer timer, when present) sees every call the manager makes. */
    private static ActiveCoordinator observe(ActiveCoordinator active, ObjectProvider<CoordinatorObserver> observers) {
        List<CoordinatorObserver> all = observers.orderedStream().toList();
        if (all.isEmpty()) {
            return active;
        }
        return active.observedBy((all.size() == 1) ? all.get(0) : new EveryObserver(all));
    }

    /**
     * Several observers (the Micrometer timer and the observations, say), each told of every call
     * in turn. Each is on its own: one that throws (or returns null) neither keeps the others from
     * being told nor leaves another's observation unfinished.
     */
    private record EveryObserver(List<CoordinatorObserver> all) implements CoordinatorObserver {

        @Override
        public Call started(String operation, String backend) {
            List<Call> calls = new ArrayList<>(this.all.size());
            for (CoordinatorObserver each : this.all) {
                try {
                    Call call = each.started(operation, backend);
                    calls.add((call != null) ? call : Call.NOTHING);
                }
                catch (RuntimeException ex) {
                    ignored(each, operation, ex);
                }
            }
            return (error) -> {
                for (Call call : calls) {
                    try {
                        call.finished(error);
                    }
                    catch (RuntimeException ex) {
                        ignored(call, operation, ex);
                    }
                }
            };
        }

        @Override
        public void onOperation(String operation, String backend, long nanos, boolean success) {
            for (CoordinatorObserver each : this.all) {
                try {
                    each.onOperation(operation, backend, nanos, success);
                }
                catch (RuntimeException ex) {
                    ignored(each, operation, ex);
                }
            }
        }

        private static void ignored(Object observer, String operation, RuntimeException ex) {
            if (logger.isDebugEnabled()) {
                logger.debug("Coordinator observer " + observer + " failed on " + operation + "; ignored", ex);
            }
        }
    }

    ActiveCoordinator active() {
        return this.active;
    }

    @Override
    public void destroy() {
        if (this.owned) {
            try {
                this.active.close();
            }
            catch (RuntimeException ex) {
                logger.warn("Closing coordinator '" + this.active.activeBackend() + "' failed: " + ex.getMessage());
            }
        }
    }
}
