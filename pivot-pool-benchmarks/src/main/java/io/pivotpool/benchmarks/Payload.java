package io.pivotpool.benchmarks;

/**
 * The cheap pooled object of every benchmark: a few bytes, nothing to create, check or reset, so
 * that a measurement is the pool's own borrow and return and nothing else. Each peer pools one of
 * these (wrapped in the type its API demands).
 */
final class Payload {

    /** Read by each borrow so that the object is used and the read cannot be optimised away. */
    final int value;

    /**
     * The {@link HandOffCounter} of the thread that borrowed this object last, written by the
     * hand-off case only. A plain field is enough: every pool orders a return before the next
     * borrow of the same object.
     */
    HandOffCounter lastBorrower;

    Payload(int value) {
        this.value = value;
    }
}
