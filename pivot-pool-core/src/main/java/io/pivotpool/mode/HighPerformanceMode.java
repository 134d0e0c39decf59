package io.pivotpool.mode;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorProvider;
import io.pivotpool.distributed.CoordinationStatus;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.distributed.DistributedSettings;
import io.pivotpool.distributed.GlobalCapacity;
import io.pivotpool.distributed.internal.ActiveCoordinator;
import io.pivotpool.distributed.internal.CoordinatorSelection;
import io.pivotpool.distributed.internal.Managers;
import io.pivotpool.pool.Overflow;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolSettings;
import io.pivotpool.pool.PoolSpec;

import org.jspecify.annotations.Nullable;

/**
 * Pools and coordination tuned by one {@link Profile}, without Spring.
 *
 * <pre>{@code
 * try (HighPerformanceMode mode = HighPerformanceMode.enable(Profile.HIGH)) {
 *     Pool<Renderer> renderers = mode.pool(PoolSpec.of("renderers", Renderer::new));
 *     ...
 * }
 * }</pre>
 *
 * <p>An enabled mode owns what it made: the selected coordinator, the
 * {@link DistributedPoolManager} that runs this instance's coordination, and the pools created
 * through it; {@link #close()} closes them all. Explicit settings override the profile: pass
 * {@link PoolSettings} to {@link #pool(PoolSpec, PoolSettings)}, and {@link DistributedSettings}
 * (typically {@code profile.distributedSettings().toBuilder()...build()}) to
 * {@link #enable(Profile, DistributedSettings, Collection)}.
 */
public final class HighPerformanceMode implements AutoCloseable {

    /** Defaults for pools and coordination, from a cautious start to test speed. */
    public enum Profile {

        /**
         * The library defaults: pools of up to 10 that wait 5 s when exhausted; coordination every
         * 2 s with a 10 s leader term.
         */
        STANDARD(PoolSettings.DEFAULTS, DistributedSettings.DEFAULTS),

        /**
         * Busy services: 4 objects kept warm, up to 32, elastic bursts to 48, borrowers wait at most
         * 2 s; coordination every second with a 5 s leader term, so that capacity follows load faster.
         */
        HIGH(PoolSettings.builder()
                .minIdle(4)
                .maxSize(32)
                .overflow(Overflow.ELASTIC)
                .emergencyLimit(48)
                .borrowTimeout(Duration.ofSeconds(2))
                .idleTimeout(Duration.ofMinutes(5))
                .housekeepingInterval(Duration.ofSeconds(2))
                .build(),
                DistributedSettings.builder()
                        .syncInterval(Duration.ofSeconds(1))
                        .leaderTtl(Duration.ofSeconds(5))
                        .rebalanceInterval(Duration.ofSeconds(5))
                        .build()),

        /**
         * Latency first: 16 objects kept warm, up to 128, elastic bursts to 256, borrowers wait at most
         * 500 ms, idle objects live 2 min; coordination every 500 ms with a 3 s leader term.
         */
        EXTREME(PoolSettings.builder()
                .minIdle(16)
                .maxSize(128)
                .overflow(Overflow.ELASTIC)
                .emergencyLimit(256)
                .borrowTimeout(Duration.ofMillis(500))
                .idleTimeout(Duration.ofMinutes(2))
                .housekeepingInterval(Duration.ofSeconds(1))
                .build(),
                DistributedSettings.builder()
                        .syncInterval(Duration.ofMillis(500))
                        .leaderTtl(Duration.ofSeconds(3))
                        .rebalanceInterval(Duration.ofSeconds(2))
                        .build()),

        /**
         * Tests: pools of up to 4 that fail after 100 ms of waiting and evict idle objects after
         * 1 s; coordination every 100 ms with a 500 ms leader term, so that expiry and failover
         * happen within a test's patience.
         */
        TEST(PoolSettings.builder()
                .minIdle(0)
                .maxSize(4)
                .overflow(Overflow.WAIT)
                .borrowTimeout(Duration.ofMillis(100))
                .idleTimeout(Duration.ofSeconds(1))
                .housekeepingInterval(Duration.ofMillis(100))
                .build(),
                DistributedSettings.builder()
                        .syncInterval(Duration.ofMillis(100))
                        .leaderTtl(Duration.ofMillis(500))
                        .rebalanceInterval(Duration.ofMillis(200))
                        .build());

        private final PoolSettings poolSettings;

        private final DistributedSettings distributedSettings;

        Profile(PoolSettings poolSettings, DistributedSettings distributedSettings) {
            this.poolSettings = poolSettings;
            this.distributedSettings = distributedSettings;
        }

        /** The settings a pool gets unless it is given its own. */
        public PoolSettings poolSettings() {
            return this.poolSettings;
        }

        /**
         * The coordination timing of this profile. Coordination itself stays disabled: turning it on
         * and naming a backend is a deployment decision, not a profile's.
         */
        public DistributedSettings distributedSettings() {
            return this.distributedSettings;
        }
    }

    private final Profile profile;

    private final ActiveCoordinator active;

    private final DistributedPoolManager manager;

    private final List<Pool<?>> pools = new ArrayList<>();

    private final ReentrantLock lock = new ReentrantLock();

    private boolean closed;

    private HighPerformanceMode(Profile profile, ActiveCoordinator active, DistributedSettings settings) {
        this.profile = profile;
        this.active = active;
        this.manager = Managers.create(active, settings, DistributedPoolManager.localInstance(
                Map.of("profile", profile.name().toLowerCase(Locale.ROOT))));
    }

    /** The profile's defaults, single-instance (the no-op coordinator). */
    public static HighPerformanceMode enable(Profile profile) {
        Objects.requireNonNull(profile, "profile must not be null");
        return enable(profile, profile.distributedSettings(), List.of());
    }

    /**
     * The profile's pool defaults with explicit coordination settings; the backend named by
     * {@link DistributedSettings#coordination()} is chosen among {@code providers} as the
     * auto-configuration chooses it: one that is unknown, not among them or fails to be created is
     * replaced by the no-op coordinator with one warning (the {@link #status() status} says why),
     * and one that cannot connect is kept and connected by the rounds once it answers.
     *
     * @throws io.pivotpool.coordinator.CoordinatorException if the backend cannot be used and
     *     {@code fail-fast} is on
     */
    public static HighPerformanceMode enable(Profile profile, DistributedSettings distributed,
            Collection<? extends CoordinatorProvider> providers) {
        Objects.requireNonNull(profile, "profile must not be null");
        return start(profile, CoordinatorSelection.select(distributed, providers), distributed);
    }

    /**
     * The profile's defaults, coordinated through a coordinator the caller made (connected here;
     * if it cannot connect, its rounds try again). The mode owns it from now on and closes it.
     */
    public static HighPerformanceMode enable(Profile profile, Coordinator coordinator) {
        Objects.requireNonNull(profile, "profile must not be null");
        DistributedSettings distributed = profile.distributedSettings().toBuilder()
                .enabled(true)
                .coordination(coordinator.name())
                .build();
        return start(profile, CoordinatorSelection.use(coordinator, distributed), distributed);
    }

    private static HighPerformanceMode start(Profile profile, ActiveCoordinator active, DistributedSettings settings) {
        HighPerformanceMode mode = new HighPerformanceMode(profile, active, settings);
        try {
            mode.manager.start();
        }
        catch (RuntimeException ex) {
            active.close();
            throw ex;
        }
        return mode;
    }

    public Profile profile() {
        return this.profile;
    }

    /** The manager that runs this instance's coordination. */
    public DistributedPoolManager manager() {
        return this.manager;
    }

    /** The coordinator in use (the no-op one when single-instance or after a fallback). */
    public Coordinator coordinator() {
        return this.active.coordinator();
    }

    public CoordinationStatus status() {
        return this.manager.status();
    }

    /** Creates a pool with the profile's settings; it is closed with this mode. */
    public <T> Pool<T> pool(PoolSpec<T> spec) {
        return pool(spec, this.profile.poolSettings());
    }

    /** Creates a pool with explicit settings, which override the profile's; it is closed with this mode. */
    public <T> Pool<T> pool(PoolSpec<T> spec, PoolSettings settings) {
        return track(spec, settings, null);
    }

    /**
     * Creates a pool that shares a cluster-wide maximum size with the same pool on other instances
     * (each keeping its last grant while it cannot reach the coordinator) and registers it with
     * the {@link #manager() manager}; it is closed with this mode.
     */
    public <T> Pool<T> pool(PoolSpec<T> spec, PoolSettings settings, int globalMaxSize) {
        return pool(spec, settings, GlobalCapacity.of(globalMaxSize));
    }

    /**
     * Creates a pool whose size follows this instance's share of a cluster-wide cap and registers
     * it with the {@link #manager() manager}; it is closed with this mode.
     *
     * @see DistributedPoolManager#addPool(Pool, GlobalCapacity)
     */
    public <T> Pool<T> pool(PoolSpec<T> spec, PoolSettings settings, GlobalCapacity capacity) {
        return track(spec, settings, Objects.requireNonNull(capacity, "capacity must not be null"));
    }

    private <T> Pool<T> track(PoolSpec<T> spec, PoolSettings settings, @Nullable GlobalCapacity capacity) {
        Objects.requireNonNull(spec, "spec must not be null");
        Objects.requireNonNull(settings, "settings must not be null");
        this.lock.lock();
        try {
            if (this.closed) {
                throw new IllegalStateException("HighPerformanceMode is closed");
            }
            Pool<T> pool = (capacity != null) ? this.manager.createPool(spec, settings, capacity)
                    : Pool.create(spec, settings);
            this.pools.add(pool);
            return pool;
        }
        finally {
            this.lock.unlock();
        }
    }

    /** Closes the pools made through this mode, leaves the cluster and closes the coordinator. Idempotent. */
    @Override
    public void close() {
        this.lock.lock();
        try {
            if (this.closed) {
                return;
            }
            this.closed = true;
            for (Pool<?> pool : this.pools) {
                pool.close();
            }
            this.pools.clear();
        }
        finally {
            this.lock.unlock();
        }
        try {
            this.manager.close();
        }
        finally {
            this.active.close();
        }
    }

    @Override
    public String toString() {
        return "HighPerformanceMode[" + this.profile + ", " + this.active.activeBackend() + "]";
    }
}
