package io.pivotpool.benchmarks;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Counts, per thread, the borrows in the hand-off case that got the object from the other thread.
 * With one object and two threads, a pool that lets the returning thread take its object straight
 * back (barging) serves mostly one thread while the other sleeps, and scores well without handing
 * anything off; this counter, reported by JMH as {@code handOffs} in ops/µs, shows how many of the
 * borrows really were hand-offs.
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.OPERATIONS)
public class HandOffCounter {

    /** Borrows that received the object from the other thread (JMH reports public fields). */
    public long handOffs;

    @Setup(Level.Iteration)
    public void reset() {
        this.handOffs = 0;
    }

    /** Called while {@code payload} is borrowed; returns the value the benchmark consumes. */
    int borrowed(Payload payload) {
        if (payload.lastBorrower != this) {
            payload.lastBorrower = this;
            this.handOffs++;
        }
        return payload.value;
    }
}
