package io.pivotpool.distributed.simulation;

import java.util.PriorityQueue;

/**
 * Simulated time: a queue of events keyed by (time, sequence), run in order in one thread, so that
 * a schedule is a pure function of its random seed.
 *
 * <p>A coordinator call blocks its caller for a simulated latency. The caller cannot return before
 * that time, and others must move meanwhile, so the call runs the loop re-entrantly with
 * {@link #runUntil}. A task already on the stack (the caller's own round) is not run again while
 * it is there: its event waits until the run in flight ends, as on the single thread of a
 * {@code ScheduledThreadPoolExecutor}. The one distortion: a nested call that ends later than the
 * call it interrupted delays that call's return to its own end, so latencies can only grow, never
 * shrink (a slower network, still a valid schedule).
 */
final class EventLoop {

    /** Something that runs at a simulated instant, on behalf of a process or of the world (owner null). */
    abstract static class Task {

        final SimulatedProcess owner;

        /** 0 for a one-off task. */
        final long periodNanos;

        final boolean fixedRate;

        long due;

        boolean running;

        boolean cancelled;

        Task(SimulatedProcess owner, long periodNanos, boolean fixedRate) {
            this.owner = owner;
            this.periodNanos = periodNanos;
            this.fixedRate = fixedRate;
        }

        abstract void run();
    }

    private record Event(long at, long sequence, Task task) implements Comparable<Event> {

        @Override
        public int compareTo(Event other) {
            int byTime = Long.compare(this.at, other.at);
            return (byTime != 0) ? byTime : Long.compare(this.sequence, other.sequence);
        }
    }

    private final PriorityQueue<Event> events = new PriorityQueue<>();

    private long sequence;

    private long now;

    private final Runnable afterEachEvent;

    private long eventsRun;

    EventLoop(Runnable afterEachEvent) {
        this.afterEachEvent = afterEachEvent;
    }

    long now() {
        return this.now;
    }

    long eventsRun() {
        return this.eventsRun;
    }

    void schedule(long at, Task task) {
        task.due = at;
        this.events.add(new Event(Math.max(at, this.now), this.sequence++, task));
    }

    /** Runs every event due up to {@code deadline}, then stands at {@code deadline}. */
    void runUntil(long deadline) {
        while (!this.events.isEmpty() && this.events.peek().at() <= deadline) {
            Event event = this.events.poll();
            if (event.at() > this.now) {
                this.now = event.at();
            }
            dispatch(event.task());
        }
        if (deadline > this.now) {
            this.now = deadline;
        }
    }

    private void dispatch(Task task) {
        if (task.cancelled) {
            return;
        }
        SimulatedProcess owner = task.owner;
        if (owner != null) {
            if (owner.crashed()) {
                return;
            }
            if (owner.paused()) {
                // A frozen process runs nothing: its events wait for it (its clock does not).
                this.events.add(new Event(owner.resumesAt(), this.sequence++, task));
                return;
            }
        }
        if (task.running) {
            // Its run in flight reschedules it when it ends.
            return;
        }
        task.running = true;
        try {
            task.run();
        }
        finally {
            task.running = false;
        }
        this.eventsRun++;
        if (task.periodNanos > 0 && !task.cancelled && (owner == null || !owner.crashed())) {
            if (task.fixedRate) {
                // Late runs are not repeated back to back (the executor would): the deadline
                // watch is idempotent, so one run after a stall does all they would.
                schedule(Math.max(task.due + task.periodNanos, this.now), task);
            }
            else {
                schedule(this.now + task.periodNanos, task);
            }
        }
        this.afterEachEvent.run();
    }
}
