package io.pivotpool.pool;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * An Error thrown by a user callback (validate, reset, or the factory inside await) must neither
 * leave a slot claimed forever nor a ghost waiter in the queue that swallows the next hand-off.
 */
class PoolCallbackErrorTests {

    @Test
    void anErrorFromTheValidatorMustNotLoseTheSlot() {
        Factory factory = new Factory();
        AtomicBoolean explode = new AtomicBoolean();
        PoolSpec<Resource> spec = factory.spec("err-validate").withValidate((r) -> {
            if (explode.getAndSet(false)) {
                throw new AssertionError("validator bug");
            }
            return true;
        });
        try (Pool<Resource> pool = Pool.create(spec, PoolSettings.builder().maxSize(1).build())) {
            pool.borrow().close();
            explode.set(true);
            assertThatThrownBy(pool::borrow).isInstanceOf(AssertionError.class);
            // Nobody holds a lease now, yet the only slot stays CLAIMED for ever:
            assertThat(pool.stats().active()).as("active with no lease outstanding").isZero();
            pool.borrow(Duration.ofMillis(200)).close();
        }
    }

    @Test
    void anErrorFromResetDestroysTheObjectAndLosesNoSlot() {
        Factory factory = new Factory();
        AtomicBoolean explode = new AtomicBoolean();
        PoolSpec<Resource> spec = factory.spec("err-reset").withReset((r) -> {
            if (explode.getAndSet(false)) {
                throw new AssertionError("reset bug");
            }
        });
        try (Pool<Resource> pool = Pool.create(spec, PoolSettings.builder().maxSize(1).build())) {
            Lease<Resource> lease = pool.borrow();
            explode.set(true);
            assertThatThrownBy(lease::close).isInstanceOf(AssertionError.class);
            assertThat(lease.get().destroyed).isTrue();
            assertThat(pool.stats().size()).isZero();
            pool.borrow(Duration.ofMillis(200)).close();
        }
    }

    @Test
    void anErrorFromTheFactoryWhileWaitingMustNotLeaveAGhostWaiter() throws Exception {
        Factory factory = new Factory();
        AtomicBoolean explode = new AtomicBoolean();
        PoolSpec<Resource> spec = PoolSpec.<Resource>of("err-await", () -> {
            if (explode.getAndSet(false)) {
                throw new AssertionError("factory bug");
            }
            return factory.create();
        }).withDestroy(factory::destroy);
        try (Pool<Resource> pool = Pool.create(spec, PoolSettings.builder().maxSize(1).build())) {
            Lease<Resource> first = pool.borrow();
            CompletableFuture<Lease<Resource>> ghost = CompletableFuture
                .supplyAsync(() -> pool.borrow(Duration.ofSeconds(5)));
            await().until(() -> pool.stats().waiting() == 1);
            explode.set(true);
            first.invalidate(); // room to create: the waiter calls the factory, which throws an Error
            assertThatThrownBy(() -> ghost.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(AssertionError.class);
            assertThat(pool.stats().waiting()).isZero();

            Lease<Resource> second = pool.borrow();
            CompletableFuture<Lease<Resource>> live = CompletableFuture
                .supplyAsync(() -> pool.borrow(Duration.ofSeconds(1)));
            await().until(() -> pool.stats().waiting() == 1);
            second.close(); // hands off to the head of the queue: the ghost of the first waiter
            Lease<Resource> got = live.get(5, TimeUnit.SECONDS); // fails: PoolExhaustedException after 1 s
            got.close();
        }
    }
}
