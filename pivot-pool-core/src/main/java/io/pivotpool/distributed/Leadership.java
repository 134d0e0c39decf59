package io.pivotpool.distributed;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.LeaderLease;

import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This instance's leadership: the term it holds, until when it may trust it, and the listeners told
 * when that changes.
 *
 * <p>The invariant: this instance trusts a term only while the backend cannot have handed it to
 * another. A renewal counts from the moment it was sent, no later than the moment the backend
 * extended the lease, and is trusted for {@code trustNanos}, less than the lease's ttl by a margin
 * (see {@code DistributedPoolManager.trustNanos}); so the local deadline never outlives the
 * backend's, on a clock that runs within the margin of the backend's. {@link #isTrusted()} reads
 * the clock every time: a term is never trusted past its deadline, whether or not anybody has
 * noticed yet. The listeners are told (in order, once per change) by {@link #announce()}, which
 * the deadline thread calls often enough to tell them before the backend can elect another, unless
 * the process itself is paused (the README's pause rule).
 *
 * <p>Threads: the synchronising thread seeks and renews ({@link #seek()}); it and the deadline
 * thread announce, serialised by {@link #announcements}; anyone reads {@link #current()}.
 */
final class Leadership {

    /** The manager's: operators filter its leadership messages by that name. */
    private static final Logger logger = LoggerFactory.getLogger(DistributedPoolManager.class);

    private final Coordinator coordinator;

    private final String instanceId;

    private final Duration ttl;

    private final LongSupplier nanoClock;

    private final long trustNanos;

    /** Run first when a term stops being trusted, before the listeners hear of it. */
    private final Runnable whenRevoked;

    private final List<LeadershipListener> listeners = new CopyOnWriteArrayList<>();

    /** Serializes announcements from the two background threads. */
    private final ReentrantLock announcements = new ReentrantLock();

    /** The term held and how long it may be trusted; {@code null} when this instance does not lead. */
    private volatile @Nullable HeldLease held;

    /** Guarded by {@link #announcements}: the term last announced to the listeners, or null. */
    private @Nullable LeaderLease announced;

    Leadership(Coordinator coordinator, String instanceId, Duration ttl, LongSupplier nanoClock, long trustNanos,
            Runnable whenRevoked) {
        this.coordinator = coordinator;
        this.instanceId = instanceId;
        this.ttl = ttl;
        this.nanoClock = nanoClock;
        this.trustNanos = trustNanos;
        this.whenRevoked = whenRevoked;
    }

    /**
     * Asks for (or renews) the lease; returns the current lease, this instance's if it leads, or
     * another's (one call: a follower learns the leader's term on the way), or null if nobody leads.
     */
    @Nullable LeaderLease seek() {
        long sentAt = this.nanoClock.getAsLong();
        // A failure leaves the lease held: it may or may not have been renewed, so it is trusted
        // only until the deadline of the last renewal known to have been sent.
        return found(this.coordinator.seekLeadership(this.instanceId, this.ttl), sentAt);
    }

    /**
     * What a seek for {@link #ttl()} sent at {@code sentAt} found, when it was part of a larger call
     * (a follower's {@linkplain Coordinator#round round}): taken as {@link #seek()} takes its own.
     */
    @Nullable LeaderLease found(Optional<LeaderLease> current, long sentAt) {
        if (current.isPresent() && this.instanceId.equals(current.get().holderId())) {
            this.held = new HeldLease(current.get(), sentAt + this.trustNanos);
        }
        else {
            this.held = null;
        }
        return current.orElse(null);
    }

    /** The lease ttl this instance seeks. */
    Duration ttl() {
        return this.ttl;
    }

    /** Whether this instance leads now: it holds a term whose renewal is recent enough to trust. */
    boolean isTrusted() {
        return isTrusted(this.held);
    }

    /** The term this instance leads in now, if it does. */
    Optional<LeaderLease> current() {
        HeldLease lease = this.held;
        return (lease != null && isTrusted(lease)) ? Optional.of(lease.lease()) : Optional.empty();
    }

    private boolean isTrusted(@Nullable HeldLease lease) {
        return lease != null && this.nanoClock.getAsLong() - lease.trustedUntil() < 0;
    }

    void addListener(LeadershipListener listener) {
        this.listeners.add(listener);
    }

    /** Tells the listeners (once, in order) when the trusted term changed since they were last told. */
    void announce() {
        this.announcements.lock();
        try {
            HeldLease lease = this.held;
            LeaderLease now = (lease != null && isTrusted(lease)) ? lease.lease() : null;
            LeaderLease before = this.announced;
            if (before != null && (now == null || now.fencingToken() != before.fencingToken())) {
                this.announced = null;
                logger.info("Instance {} no longer leads (term {})", this.instanceId, before.fencingToken());
                this.whenRevoked.run();
                notifyListeners(listener -> listener.leadershipRevoked(before));
            }
            if (now != null && this.announced == null) {
                this.announced = now;
                logger.info("Instance {} leads (term {})", this.instanceId, now.fencingToken());
                notifyListeners(listener -> listener.leadershipGranted(now));
            }
        }
        finally {
            this.announcements.unlock();
        }
    }

    /**
     * Stops trusting the term and tells the listeners, before the backend can elect another; then
     * gives the term up at the backend (a failure is logged: it lapses after leader-ttl).
     */
    void resign() {
        HeldLease lease = this.held;
        this.held = null;
        announce();
        if (lease == null) {
            return;
        }
        try {
            this.coordinator.releaseLeadership(this.instanceId, lease.lease().fencingToken());
            logger.info("Instance {} gave up leadership (term {})", this.instanceId, lease.lease().fencingToken());
        }
        catch (RuntimeException ex) {
            logger.warn("Instance {} could not give up leadership (term {}); it lapses after leader-ttl: {}",
                    this.instanceId, lease.lease().fencingToken(), DistributedPoolManager.describe(ex));
        }
    }

    private void notifyListeners(Consumer<LeadershipListener> call) {
        for (LeadershipListener listener : this.listeners) {
            try {
                call.accept(listener);
            }
            catch (Throwable ex) {
                // Errors included: a listener's bug must not stop the thread that watches deadlines.
                logger.error("Leadership listener {} failed: {}", listener, DistributedPoolManager.describe(ex), ex);
            }
        }
    }

    private record HeldLease(LeaderLease lease, long trustedUntil) {
    }
}
