package io.pivotpool.coordinator;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

import io.pivotpool.coordinator.support.CoordinatorArguments;

import org.jspecify.annotations.Nullable;

/**
 * The built-in coordinator of a single instance: everything lives in this JVM's memory, so there
 * is nobody else to coordinate with. It is what runs when {@code distributed.coordination} is
 * {@code none}, and what every other backend falls back to when it is missing.
 *
 * <p>It keeps the promises of the {@link Coordinator} contract for the callers that share it:
 * registrations, leases, state and capacity grants expire after their TTL (measured on the
 * monotonic clock, so wall-clock jumps change nothing), leadership goes to whoever asks while it
 * is free with a fencing token that grows with every term, queues are FIFO and a blocking pop
 * really waits, and the capacity grants never sum above the pool's global maximum (a lone instance
 * is granted all of it).
 *
 * <p>One {@link ReentrantLock} guards all state; no operation does anything slow while holding
 * it, and a blocking pop waits on a {@link Condition}, which releases the lock.
 */
public final class NoOpCoordinator implements Coordinator {

    /** The name this coordinator reports; {@code distributed.coordination: none} selects it. */
    public static final String NAME = "noop";

    /** Expired state entries nobody reads again are swept after this many writes. */
    private static final int SWEEP_EVERY_WRITES = 1024;

    private final LongSupplier nanoClock;

    private final ReentrantLock lock = new ReentrantLock();

    /** Signalled on every push (and on close) so that blocked pops look at their queue again. */
    private final Condition messagePushed = this.lock.newCondition();

    private final Map<String, Expiring<InstanceInfo>> instances = new HashMap<>();

    private final Map<String, ArrayDeque<byte[]>> queues = new HashMap<>();

    private final Map<String, Expiring<byte[]>> state = new HashMap<>();

    private final Map<String, Map<String, Expiring<Integer>>> capacity = new HashMap<>();

    private @Nullable String leaderId;

    private long leaderToken;

    private long leaderTtlMillis;

    private long leaderExpiresAt;

    /** The last fencing token granted; every new term takes the next one. */
    private long lastToken;

    private int writesSinceSweep;

    private volatile boolean connected;

    /** Set by {@link #close()}; blocked pops give up. Guarded by the lock. */
    private boolean closed;

    public NoOpCoordinator() {
        this(System::nanoTime);
    }

    /** For tests: reads time from {@code nanoClock}, a monotonic clock like {@link System#nanoTime()}. */
    NoOpCoordinator(LongSupplier nanoClock) {
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock must not be null");
    }

    // ---- lifecycle -------------------------------------------------------------------------

    @Override
    public String name() {
        return NAME;
    }

    /** Nothing to reach: it is connected until {@link #close() closed}, and connecting again reopens it. */
    @Override
    public void connect() {
        this.lock.lock();
        try {
            this.closed = false;
            this.connected = true;
        }
        finally {
            this.lock.unlock();
        }
    }

    @Override
    public boolean isConnected() {
        return this.connected;
    }

    /** Wakes blocked pops, which then return empty; the data is kept. Idempotent. */
    @Override
    public void close() {
        this.lock.lock();
        try {
            this.closed = true;
            this.connected = false;
            this.messagePushed.signalAll();
        }
        finally {
            this.lock.unlock();
        }
    }

    // ---- membership ------------------------------------------------------------------------

    @Override
    public void register(InstanceInfo instance, Duration ttl) {
        CoordinatorArguments.requireRegistrable(instance);
        long ttlNanos = ttlNanos(ttl);
        this.lock.lock();
        try {
            this.instances.put(instance.id(), new Expiring<>(instance, this.nanoClock.getAsLong() + ttlNanos));
        }
        finally {
            this.lock.unlock();
        }
    }

    @Override
    public void heartbeat(InstanceInfo instance, Duration ttl) {
        // Registering again renews the entry, and brings back one that had expired.
        register(instance, ttl);
    }

    @Override
    public void unregister(String instanceId) {
        Objects.requireNonNull(instanceId, "instanceId must not be null");
        this.lock.lock();
        try {
            this.instances.remove(instanceId);
        }
        finally {
            this.lock.unlock();
        }
    }

    @Override
    public List<InstanceInfo> liveInstances() {
        List<InstanceInfo> live = new ArrayList<>();
        this.lock.lock();
        try {
            long now = this.nanoClock.getAsLong();
            Iterator<Expiring<InstanceInfo>> entries = this.instances.values().iterator();
            while (entries.hasNext()) {
                Expiring<InstanceInfo> entry = entries.next();
                if (entry.isExpired(now)) {
                    entries.remove();
                }
                else {
                    live.add(entry.value());
                }
            }
        }
        finally {
            this.lock.unlock();
        }
        live.sort(Comparator.comparing(InstanceInfo::id));
        return List.copyOf(live);
    }

    // ---- leadership ------------------------------------------------------------------------

    @Override
    public Optional<LeaderLease> tryAcquireLeadership(String instanceId, Duration ttl) {
        Objects.requireNonNull(instanceId, "instanceId must not be null");
        long ttlNanos = ttlNanos(ttl);
        this.lock.lock();
        try {
            long now = this.nanoClock.getAsLong();
            String holder = this.leaderId;
            boolean held = holder != null && !isExpired(this.leaderExpiresAt, now);
            if (held && !instanceId.equals(holder)) {
                return Optional.empty();
            }
            if (!held) {
                this.leaderId = instanceId;
                this.leaderToken = ++this.lastToken;
            }
            this.leaderTtlMillis = ttl.toMillis();
            this.leaderExpiresAt = now + ttlNanos;
            return Optional.of(new LeaderLease(instanceId, this.leaderToken, this.leaderTtlMillis));
        }
        finally {
            this.lock.unlock();
        }
    }

    @Override
    public boolean releaseLeadership(String instanceId, long fencingToken) {
        Objects.requireNonNull(instanceId, "instanceId must not be null");
        this.lock.lock();
        try {
            boolean holds = instanceId.equals(this.leaderId) && this.leaderToken == fencingToken
                    && !isExpired(this.leaderExpiresAt, this.nanoClock.getAsLong());
            if (holds) {
                this.leaderId = null;
            }
            return holds;
        }
        finally {
            this.lock.unlock();
        }
    }

    @Override
    public Optional<LeaderLease> currentLeader() {
        this.lock.lock();
        try {
            if (this.leaderId == null || isExpired(this.leaderExpiresAt, this.nanoClock.getAsLong())) {
                return Optional.empty();
            }
            return Optional.of(new LeaderLease(this.leaderId, this.leaderToken, this.leaderTtlMillis));
        }
        finally {
            this.lock.unlock();
        }
    }

    // ---- queues ----------------------------------------------------------------------------

    @Override
    public void push(String queue, byte[] message) {
        Objects.requireNonNull(queue, "queue must not be null");
        byte[] copy = Objects.requireNonNull(message, "message must not be null").clone();
        this.lock.lock();
        try {
            this.queues.computeIfAbsent(queue, name -> new ArrayDeque<>()).addLast(copy);
            this.messagePushed.signalAll();
        }
        finally {
            this.lock.unlock();
        }
    }

    @Override
    public Optional<byte[]> pop(String queue) {
        Objects.requireNonNull(queue, "queue must not be null");
        this.lock.lock();
        try {
            return Optional.ofNullable(takeFirst(queue));
        }
        finally {
            this.lock.unlock();
        }
    }

    @Override
    public Optional<byte[]> pop(String queue, Duration timeout) {
        Objects.requireNonNull(queue, "queue must not be null");
        CoordinatorArguments.requireWaitTimeout(timeout);
        long remaining = CoordinatorArguments.saturatedNanos(timeout);
        this.lock.lock();
        try {
            byte[] message = takeFirst(queue);
            while (message == null && remaining > 0 && !this.closed) {
                try {
                    remaining = this.messagePushed.awaitNanos(remaining);
                }
                catch (InterruptedException ex) {
                    // Nothing was taken, so nothing is lost: give up the wait and keep the flag.
                    Thread.currentThread().interrupt();
                    return Optional.empty();
                }
                message = takeFirst(queue);
            }
            return Optional.ofNullable(message);
        }
        finally {
            this.lock.unlock();
        }
    }

    private byte @Nullable [] takeFirst(String queue) {
        ArrayDeque<byte[]> messages = this.queues.get(queue);
        if (messages == null) {
            return null;
        }
        byte[] message = messages.pollFirst();
        if (messages.isEmpty()) {
            this.queues.remove(queue);
        }
        return message;
    }

    // ---- shared state ----------------------------------------------------------------------

    @Override
    public void set(String key, byte[] value, @Nullable Duration ttl) {
        Objects.requireNonNull(key, "key must not be null");
        byte[] copy = Objects.requireNonNull(value, "value must not be null").clone();
        Deadline expiresAt = expiresAt(ttl);
        this.lock.lock();
        try {
            putState(key, copy, expiresAt);
        }
        finally {
            this.lock.unlock();
        }
    }

    @Override
    public Optional<byte[]> get(String key) {
        Objects.requireNonNull(key, "key must not be null");
        this.lock.lock();
        try {
            byte[] value = liveState(key);
            return (value != null) ? Optional.of(value.clone()) : Optional.empty();
        }
        finally {
            this.lock.unlock();
        }
    }

    @Override
    public boolean delete(String key) {
        Objects.requireNonNull(key, "key must not be null");
        this.lock.lock();
        try {
            boolean existed = liveState(key) != null;
            this.state.remove(key);
            return existed;
        }
        finally {
            this.lock.unlock();
        }
    }

    @Override
    public boolean compareAndSet(String key, byte @Nullable [] expected, byte @Nullable [] newValue,
            @Nullable Duration ttl) {
        Objects.requireNonNull(key, "key must not be null");
        byte[] copy = (newValue != null) ? newValue.clone() : null;
        Deadline expiresAt = expiresAt(ttl);
        this.lock.lock();
        try {
            byte[] current = liveState(key);
            boolean matches = (expected == null) ? current == null : current != null && Arrays.equals(current, expected);
            if (!matches) {
                return false;
            }
            if (copy == null) {
                this.state.remove(key);
            }
            else {
                putState(key, copy, expiresAt);
            }
            return true;
        }
        finally {
            this.lock.unlock();
        }
    }

    /** The live value of {@code key}, dropping it if it expired. Call with the lock held. */
    private byte @Nullable [] liveState(String key) {
        Expiring<byte[]> entry = this.state.get(key);
        if (entry == null) {
            return null;
        }
        if (entry.isExpired(this.nanoClock.getAsLong())) {
            this.state.remove(key);
            return null;
        }
        return entry.value();
    }

    /** Call with the lock held. */
    private void putState(String key, byte[] value, Deadline expiresAt) {
        this.state.put(key, new Expiring<>(value, expiresAt));
        if (++this.writesSinceSweep >= SWEEP_EVERY_WRITES) {
            this.writesSinceSweep = 0;
            long now = this.nanoClock.getAsLong();
            this.state.values().removeIf(entry -> entry.isExpired(now));
        }
    }

    // ---- capacity --------------------------------------------------------------------------

    @Override
    public CapacityGrant requestCapacity(String pool, String instanceId, int requested, int globalMaxSize,
            Duration ttl) {
        CoordinatorArguments.requireCapacityRequest(pool, instanceId, requested, globalMaxSize);
        long ttlNanos = ttlNanos(ttl);
        this.lock.lock();
        try {
            long now = this.nanoClock.getAsLong();
            Map<String, Expiring<Integer>> grants = this.capacity.computeIfAbsent(pool, name -> new HashMap<>());
            grants.values().removeIf(grant -> grant.isExpired(now));
            boolean renewed = grants.remove(instanceId) != null;
            int others = 0;
            for (Expiring<Integer> grant : grants.values()) {
                others += grant.value();
            }
            int granted = Math.max(0, Math.min(requested, globalMaxSize - others));
            grants.put(instanceId, new Expiring<>(granted, now + ttlNanos));
            return new CapacityGrant(pool, instanceId, granted, others + granted, globalMaxSize, renewed);
        }
        finally {
            this.lock.unlock();
        }
    }

    @Override
    public boolean releaseCapacityOfNonMember(String pool, String holder) {
        Objects.requireNonNull(pool, "pool must not be null");
        Objects.requireNonNull(holder, "holder must not be null");
        this.lock.lock();
        try {
            Expiring<InstanceInfo> member = this.instances.get(holder);
            return (member == null || member.isExpired(this.nanoClock.getAsLong())) && removeGrant(pool, holder);
        }
        finally {
            this.lock.unlock();
        }
    }

    @Override
    public void releaseCapacity(String pool, String instanceId) {
        Objects.requireNonNull(pool, "pool must not be null");
        Objects.requireNonNull(instanceId, "instanceId must not be null");
        this.lock.lock();
        try {
            removeGrant(pool, instanceId);
        }
        finally {
            this.lock.unlock();
        }
    }

    /** Removes {@code holder}'s grant of {@code pool}, if any; call with the lock held. */
    private boolean removeGrant(String pool, String holder) {
        Map<String, Expiring<Integer>> grants = this.capacity.get(pool);
        if (grants == null || grants.remove(holder) == null) {
            return false;
        }
        if (grants.isEmpty()) {
            this.capacity.remove(pool);
        }
        return true;
    }

    @Override
    public CapacityView capacity(String pool) {
        Objects.requireNonNull(pool, "pool must not be null");
        Map<String, Integer> view = new LinkedHashMap<>();
        int total = 0;
        this.lock.lock();
        try {
            Map<String, Expiring<Integer>> grants = this.capacity.get(pool);
            if (grants != null) {
                long now = this.nanoClock.getAsLong();
                grants.values().removeIf(grant -> grant.isExpired(now));
                for (Map.Entry<String, Expiring<Integer>> grant : grants.entrySet()) {
                    view.put(grant.getKey(), grant.getValue().value());
                    total += grant.getValue().value();
                }
                if (grants.isEmpty()) {
                    this.capacity.remove(pool);
                }
            }
        }
        finally {
            this.lock.unlock();
        }
        return new CapacityView(pool, view, total);
    }

    // ---- time ------------------------------------------------------------------------------

    @Override
    public String toString() {
        return "NoOpCoordinator";
    }

    /** When a value set now with {@code ttl} expires; {@code null} never does. */
    private Deadline expiresAt(@Nullable Duration ttl) {
        return (ttl != null) ? new Deadline(this.nanoClock.getAsLong() + ttlNanos(ttl)) : Deadline.NEVER;
    }

    private static long ttlNanos(Duration ttl) {
        return CoordinatorArguments.saturatedNanos(CoordinatorArguments.requirePositiveTtl(ttl));
    }


    /** Compares as a difference so that a {@link System#nanoTime()} wrap-around changes nothing. */
    private static boolean isExpired(long expiresAt, long now) {
        return now - expiresAt >= 0;
    }

    /** A point on the monotonic clock, or never. */
    private record Deadline(long nanos) {

        static final Deadline NEVER = new Deadline(0);

        boolean hasPassed(long now) {
            return this != NEVER && isExpired(this.nanos, now);
        }
    }

    private record Expiring<V>(V value, Deadline deadline) {

        Expiring(V value, long expiresAt) {
            this(value, new Deadline(expiresAt));
        }

        boolean isExpired(long now) {
            return this.deadline.hasPassed(now);
        }
    }
}
