package io.pivotpool.pool;

import java.util.concurrent.atomic.AtomicReference;

/** A pooled test object that knows whether it was destroyed and who holds it. */
final class Resource {

    final int id;

    volatile boolean destroyed;

    volatile int resets;

    /** Set by a borrower while it uses the object: two borrowers at once is a broken promise. */
    final AtomicReference<Thread> holder = new AtomicReference<>();

    Resource(int id) {
        this.id = id;
    }

    @Override
    public String toString() {
        return "Resource#" + this.id;
    }
}
