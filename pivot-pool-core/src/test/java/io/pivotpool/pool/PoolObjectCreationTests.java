package io.pivotpool.pool;

import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Pooled objects and fallback (unpooled) objects are made by one creation path, so a failing
 * factory is treated the same on both: an Error passes through unwrapped, anything else is wrapped
 * in a PoolException, each counted once as a creation failure, and no room is lost for it.
 */
class PoolObjectCreationTests {

    @Test
    void aFactoryErrorIsRethrownAndCountedTheSameForPooledAndFallbackObjects() {
        Throwable pooled = failedBorrow(true, () -> new AssertionError("factory bug"));
        Throwable fallback = failedBorrow(false, () -> new AssertionError("factory bug"));
        assertThat(pooled).isExactlyInstanceOf(AssertionError.class).hasMessage("factory bug");
        assertThat(fallback).isExactlyInstanceOf(AssertionError.class).hasMessage("factory bug");
    }

    @Test
    void aFactoryExceptionIsWrappedAndCountedTheSameForPooledAndFallbackObjects() {
        Throwable pooled = failedBorrow(true, () -> new IllegalStateException("backend down"));
        Throwable fallback = failedBorrow(false, () -> new IllegalStateException("backend down"));
        assertThat(pooled).isExactlyInstanceOf(PoolException.class)
                .hasCauseExactlyInstanceOf(IllegalStateException.class);
        assertThat(fallback).isExactlyInstanceOf(PoolException.class)
                .hasCauseExactlyInstanceOf(IllegalStateException.class);
    }

    /**
     * Borrows once from a pool of max-size 1 with fallback overflow whose factory fails: with
     * {@code pooled}, the pool is empty, so the borrow creates a pooled object; without, the one
     * pooled object is held, so the borrow creates a fallback object.
     */
    private static Throwable failedBorrow(boolean pooled, Supplier<Throwable> failure) {
        AtomicReference<Throwable> toThrow = new AtomicReference<>();
        Factory factory = new Factory();
        PoolSpec<Resource> spec = PoolSpec.of(pooled ? "create-pooled" : "create-fallback", () -> {
            Throwable next = toThrow.get();
            if (next instanceof Error error) {
                throw error;
            }
            if (next instanceof RuntimeException exception) {
                throw exception;
            }
            return factory.create();
        }).withDestroy(factory::destroy);
        try (Pool<Resource> pool = Pool.create(spec, PoolSettings.builder().maxSize(1).overflow(Overflow.FALLBACK)
                .build())) {
            Lease<Resource> held = pooled ? null : pool.borrow();
            toThrow.set(failure.get());
            PoolStats before = pool.stats();
            Throwable thrown = catchThrowableOf(pool::borrow);
            PoolStats after = pool.stats();
            assertThat(after.creationFailures()).as("creation failures").isEqualTo(before.creationFailures() + 1);
            assertThat(after.created()).as("created").isEqualTo(before.created());
            assertThat(after.size()).as("size: the room reserved for the failed object is given back")
                    .isEqualTo(before.size());
            toThrow.set(null);
            if (held != null) {
                held.close();
            }
            pool.borrow().close();
            return thrown;
        }
    }

    private static Throwable catchThrowableOf(Runnable borrow) {
        try {
            borrow.run();
        }
        catch (Throwable ex) {
            return ex;
        }
        throw new AssertionError("the borrow did not fail");
    }
}
