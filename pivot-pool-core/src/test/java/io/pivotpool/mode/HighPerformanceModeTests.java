package io.pivotpool.mode;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.CoordinatorProvider;
import io.pivotpool.coordinator.NoOpCoordinator;
import io.pivotpool.distributed.CoordinationStatus;
import io.pivotpool.distributed.DistributedSettings;
import io.pivotpool.distributed.internal.ObservedCoordinator;
import io.pivotpool.mode.HighPerformanceMode.Profile;
import io.pivotpool.pool.Lease;
import io.pivotpool.pool.Overflow;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolSettings;
import io.pivotpool.pool.PoolSpec;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.awaitility.Awaitility.await;

class HighPerformanceModeTests {

    @Test
    void enableWithAProfileAloneRunsASingleInstanceOnTheNoOpCoordinator() {
        try (HighPerformanceMode mode = HighPerformanceMode.enable(Profile.TEST)) {
            CoordinationStatus status = mode.status();
            assertThat(status.requestedBackend()).isEqualTo("none");
            assertThat(status.activeBackend()).isEqualTo("noop");
            assertThat(status.fallbackReason()).isNull();
            assertThat(status.connected()).isTrue();
            assertThat(status.isLeader()).isTrue();
            assertThat(status.members()).extracting(member -> member.id()).containsExactly(mode.manager().instanceId());
            assertThat(status.members().get(0).metadata()).containsEntry("profile", "test");
            assertThat(mode.coordinator()).isInstanceOf(NoOpCoordinator.class);
            assertThat(mode.profile()).isEqualTo(Profile.TEST);
        }
    }

    @Test
    void theProfilesSyncIntervalDrivesCoordination() {
        try (HighPerformanceMode mode = HighPerformanceMode.enable(Profile.TEST)) {
            Instant first = mode.status().lastSync();
            await().atMost(Duration.ofSeconds(1)).until(() -> mode.status().lastSync().isAfter(first));
        }
    }

    @Test
    void poolsGetTheProfilesSettingsUnlessGivenTheirOwn() {
        try (HighPerformanceMode mode = HighPerformanceMode.enable(Profile.TEST)) {
            Pool<StringBuilder> profiled = mode.pool(PoolSpec.of("profiled", StringBuilder::new));
            assertThat(profiled.settings()).isSameAs(Profile.TEST.poolSettings());
            assertThat(profiled.maxSize()).isEqualTo(4);
            PoolSettings explicit = Profile.TEST.poolSettings().toBuilder().maxSize(7).build();
            Pool<StringBuilder> overridden = mode.pool(PoolSpec.of("overridden", StringBuilder::new), explicit);
            assertThat(overridden.maxSize()).isEqualTo(7);
            try (Lease<StringBuilder> lease = overridden.borrow()) {
                assertThat(lease.get()).isNotNull();
            }
        }
    }

    @Test
    void poolsWithAGlobalMaximumAreRegisteredWithTheManager() {
        try (HighPerformanceMode mode = HighPerformanceMode.enable(Profile.TEST)) {
            mode.pool(PoolSpec.of("renderers", Object::new), Profile.TEST.poolSettings(), 100);
            mode.pool(PoolSpec.of("local-only", Object::new));
            assertThat(mode.status().pools()).containsOnlyKeys("renderers");
            assertThat(mode.status().pools().get("renderers").globalMaxSize()).isEqualTo(100);
            assertThatIllegalArgumentException()
                .isThrownBy(() -> mode.pool(PoolSpec.of("bad", Object::new), Profile.TEST.poolSettings(), 0))
                .withMessage("global-max-size must be at least 1, was 0");
        }
    }

    @Test
    void closeClosesThePoolsLeavesTheClusterAndClosesTheCoordinator() {
        HighPerformanceMode mode = HighPerformanceMode.enable(Profile.TEST);
        Pool<Object> pool = mode.pool(PoolSpec.of("renderers", Object::new));
        Coordinator coordinator = mode.coordinator();
        mode.close();
        assertThatIllegalStateException().isThrownBy(pool::borrow);
        assertThat(coordinator.liveInstances()).isEmpty();
        assertThat(coordinator.currentLeader()).isEmpty();
        assertThat(coordinator.isConnected()).isFalse();
        mode.close();
        assertThatIllegalStateException().isThrownBy(() -> mode.pool(PoolSpec.of("late", Object::new)))
            .withMessage("HighPerformanceMode is closed");
    }

    @Test
    void enableWithACoordinatorCoordinatesThroughIt() {
        List<String> operations = new CopyOnWriteArrayList<>();
        Coordinator custom = renamed("custom", new ObservedCoordinator(new NoOpCoordinator(),
                (operation, backend, nanos, success) -> operations.add(operation)));
        try (HighPerformanceMode mode = HighPerformanceMode.enable(Profile.TEST, custom)) {
            assertThat(mode.status().requestedBackend()).isEqualTo("custom");
            assertThat(mode.status().activeBackend()).isEqualTo("custom");
            assertThat(mode.status().isLeader()).isTrue();
            assertThat(operations).startsWith("connect", "register", "seekLeadership", "liveInstances");
        }
        assertThat(custom.isConnected()).as("closed with the mode").isFalse();
    }

    @Test
    void enableWithProvidersSelectsTheNamedBackend() {
        CoordinatorProvider provider = provider("custom");
        DistributedSettings settings = Profile.TEST.distributedSettings().toBuilder()
            .enabled(true)
            .coordination("custom")
            .build();
        try (HighPerformanceMode mode = HighPerformanceMode.enable(Profile.HIGH, settings, List.of(provider))) {
            assertThat(mode.status().activeBackend()).isEqualTo("custom");
            assertThat(mode.status().fallbackReason()).isNull();
            assertThat(mode.profile().poolSettings().maxSize()).isEqualTo(32);
        }
    }

    @Test
    void enableWithAnUnavailableBackendFallsBackToSingleInstance() {
        DistributedSettings settings = Profile.TEST.distributedSettings().toBuilder()
            .enabled(true)
            .coordination("etcd")
            .build();
        try (HighPerformanceMode mode = HighPerformanceMode.enable(Profile.TEST, settings, List.of(provider("redis")))) {
            assertThat(mode.status().activeBackend()).isEqualTo("noop");
            assertThat(mode.status().fallbackReason())
                .isEqualTo("Coordination backend 'etcd' is not available: no coordinator named 'etcd' is on the "
                        + "classpath; available: redis; add io.pivotpool:pivot-pool-etcd to the application's "
                        + "dependencies");
            assertThat(mode.pool(PoolSpec.of("still-works", Object::new)).tryBorrow()).isNotNull();
        }
    }

    @Test
    void enableWithFailFastAndAnUnavailableBackendFails() {
        DistributedSettings settings = Profile.TEST.distributedSettings().toBuilder()
            .enabled(true)
            .coordination("etcd")
            .failFast(true)
            .build();
        assertThatExceptionOfType(CoordinatorException.class)
            .isThrownBy(() -> HighPerformanceMode.enable(Profile.TEST, settings, List.of()))
            .withMessageContaining("'etcd' is not available");
    }

    @Test
    void profilesGrowFromStandardToExtremeAndKeepCoordinationOff() {
        assertThat(Profile.STANDARD.poolSettings()).isSameAs(PoolSettings.DEFAULTS);
        assertThat(Profile.STANDARD.distributedSettings()).isSameAs(DistributedSettings.DEFAULTS);
        assertThat(Profile.HIGH.poolSettings().maxSize()).isGreaterThan(Profile.STANDARD.poolSettings().maxSize());
        assertThat(Profile.EXTREME.poolSettings().maxSize()).isGreaterThan(Profile.HIGH.poolSettings().maxSize());
        assertThat(Profile.HIGH.poolSettings().overflow()).isEqualTo(Overflow.ELASTIC);
        assertThat(Profile.EXTREME.poolSettings().borrowTimeout())
            .isLessThan(Profile.HIGH.poolSettings().borrowTimeout());
        assertThat(Profile.EXTREME.distributedSettings().syncInterval())
            .isLessThan(Profile.HIGH.distributedSettings().syncInterval())
            .isLessThan(Profile.STANDARD.distributedSettings().syncInterval());
        assertThat(Profile.TEST.poolSettings().maxSize()).isEqualTo(4);
        assertThat(Profile.TEST.poolSettings().borrowTimeout()).isEqualTo(Duration.ofMillis(100));
        assertThat(Profile.TEST.distributedSettings().syncInterval()).isEqualTo(Duration.ofMillis(100));
        for (Profile profile : Profile.values()) {
            assertThat(profile.distributedSettings().enabled()).as("%s enables coordination", profile).isFalse();
            assertThat(profile.distributedSettings().coordination()).isEqualTo("none");
        }
    }

    private static CoordinatorProvider provider(String name) {
        return new CoordinatorProvider() {

            @Override
            public String name() {
                return name;
            }

            @Override
            public Coordinator create(String namespace) {
                return renamed(name, new NoOpCoordinator());
            }
        };
    }

    /** A working coordinator under another backend name. */
    private static Coordinator renamed(String name, Coordinator delegate) {
        return (Coordinator) Proxy.newProxyInstance(Coordinator.class.getClassLoader(),
                new Class<?>[] { Coordinator.class }, (proxy, method, args) -> {
                    if (method.getName().equals("name")) {
                        return name;
                    }
                    try {
                        return method.invoke(delegate, args);
                    }
                    catch (InvocationTargetException ex) {
                        throw ex.getCause();
                    }
                });
    }
}
