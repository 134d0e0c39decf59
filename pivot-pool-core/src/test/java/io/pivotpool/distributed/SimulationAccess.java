package io.pivotpool.distributed;

import java.time.Clock;
import java.time.Duration;
import java.util.function.LongSupplier;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.distributed.internal.ActiveCoordinator;

/**
 * The simulation's door into this package (the simulation lives in a sub-package of its own, and
 * the hooks it needs stay package-private in production): a manager on simulated time and threads,
 * and a side-effect-free read of its shares.
 */
public final class SimulationAccess {

    /** The simulation's stand-in for the manager's background threads. */
    public interface SimulatedThreads {

        /** Starts {@code task}; the returned runnable stops it. */
        Runnable repeat(String threadName, long periodNanos, boolean fixedRate, Runnable task);
    }

    private SimulationAccess() {
    }

    public static DistributedPoolManager manager(Coordinator coordinator, DistributedSettings settings,
            InstanceInfo self, LongSupplier nanoClock, Clock wallClock, SimulatedThreads threads) {
        BackgroundThreads background = new BackgroundThreads() {
            @Override
            public Repeating withFixedDelay(String threadName, long delayNanos, Runnable task) {
                Runnable stop = threads.repeat(threadName, delayNanos, false, task);
                return (Duration patience) -> stop.run();
            }

            @Override
            public Repeating atFixedRate(String threadName, long periodNanos, Runnable task) {
                Runnable stop = threads.repeat(threadName, periodNanos, true, task);
                return (Duration patience) -> stop.run();
            }
        };
        return new DistributedPoolManager(new ActiveCoordinator(coordinator.name(), coordinator, null), settings,
                self, nanoClock, wallClock, background);
    }

    /**
     * Makes {@code manager}, when it leads, give back the grants of holders that are not members
     * once they have been absent for longer than {@code nanos} (a mutant: the rule waits
     * instance-ttl + sync-interval).
     */
    public static void reapNonMemberGrantsAfter(DistributedPoolManager manager, long nanos) {
        manager.reapNonMemberGrantsAfter(nanos);
    }

    /** The share of {@code pool} on {@code manager}, or null; unlike {@code status()} it changes nothing. */
    public static PoolCapacity capacityOf(DistributedPoolManager manager, String pool) {
        return manager.capacityOf(pool);
    }
}
