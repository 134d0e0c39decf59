package io.pivotpool.distributed;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Where {@link DistributedPoolManager} runs its repeating work: the rounds and the deadline watch.
 * Each task gets a thread of its own, so a round stuck in a slow call never delays the deadline
 * watch, and a task never overlaps itself.
 *
 * <p>Production uses {@link #DAEMON}, one daemon {@link ScheduledThreadPoolExecutor} per task. The
 * manager knows nothing else about threads, so a deterministic simulation can run many managers
 * in one thread by supplying its own implementation on a simulated clock.
 */
interface BackgroundThreads {

    /** Real daemon threads, one per task. */
    BackgroundThreads DAEMON = new DaemonThreads();

    /** Runs {@code task} every {@code delayNanos} after the previous run ended, starting one delay from now. */
    Repeating withFixedDelay(String threadName, long delayNanos, Runnable task);

    /** Runs {@code task} every {@code periodNanos} from now on, late runs not repeated. */
    Repeating atFixedRate(String threadName, long periodNanos, Runnable task);

    /** A started repeating task. */
    interface Repeating {

        /**
         * Stops repeating; a run in flight may finish within {@code patience}, after which it is
         * interrupted.
         */
        void stop(Duration patience);
    }

    final class DaemonThreads implements BackgroundThreads {

        private DaemonThreads() {
        }

        @Override
        public Repeating withFixedDelay(String threadName, long delayNanos, Runnable task) {
            ScheduledExecutorService executor = daemonScheduler(threadName);
            executor.scheduleWithFixedDelay(task, delayNanos, delayNanos, TimeUnit.NANOSECONDS);
            return patience -> stop(executor, patience);
        }

        @Override
        public Repeating atFixedRate(String threadName, long periodNanos, Runnable task) {
            ScheduledExecutorService executor = daemonScheduler(threadName);
            executor.scheduleAtFixedRate(task, periodNanos, periodNanos, TimeUnit.NANOSECONDS);
            return patience -> stop(executor, patience);
        }

        private static ScheduledExecutorService daemonScheduler(String threadName) {
            ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, runnable -> {
                Thread thread = new Thread(runnable, threadName);
                thread.setDaemon(true);
                return thread;
            });
            executor.setRemoveOnCancelPolicy(true);
            return executor;
        }

        private static void stop(ScheduledExecutorService executor, Duration patience) {
            executor.shutdown();
            try {
                long waitMillis = patience.toMillis();
                if (!executor.awaitTermination(waitMillis, TimeUnit.MILLISECONDS)) {
                    executor.shutdownNow();
                    executor.awaitTermination(waitMillis, TimeUnit.MILLISECONDS);
                }
            }
            catch (InterruptedException ex) {
                executor.shutdownNow();
                Thread.currentThread().interrupt();
            }
        }
    }
}
