package io.pivotpool.distributed;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import ch.qos.logback.classic.Level;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.CoordinatorProvider;
import io.pivotpool.coordinator.NoOpCoordinator;
import io.pivotpool.distributed.internal.ActiveCoordinator;
import io.pivotpool.distributed.internal.CoordinatorSelection;
import io.pivotpool.testsupport.LogCapture;
import io.pivotpool.testsupport.contract.ForwardingCoordinator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

class CoordinatorSelectionTests {

    private final LogCapture log = LogCapture.of(CoordinatorSelection.class);

    @AfterEach
    void stopCapturing() {
        this.log.close();
    }

    @Test
    void selectWhenDisabledShouldUseNoOpWithoutWarning() {
        DistributedSettings settings = DistributedSettings.builder().coordination("redis").build();
        ActiveCoordinator active = CoordinatorSelection.select(settings, List.of(new TestProvider("redis")));
        assertThat(active.requestedBackend()).isEqualTo("none");
        assertThat(active.coordinator()).isInstanceOf(NoOpCoordinator.class);
        assertThat(active.coordinator().isConnected()).isTrue();
        assertThat(active.activeBackend()).isEqualTo("noop");
        assertThat(active.fellBack()).isFalse();
        assertThat(this.log.messages(Level.WARN)).isEmpty();
    }

    @Test
    void selectWhenCoordinationIsNoneShouldUseNoOpWithoutWarning() {
        ActiveCoordinator active = CoordinatorSelection.select(enabled("none"), List.of(new TestProvider("redis")));
        assertThat(active.coordinator()).isInstanceOf(NoOpCoordinator.class);
        assertThat(active.fallbackReason()).isNull();
        assertThat(this.log.messages(Level.WARN)).isEmpty();
    }

    @Test
    void selectWhenProviderIsPresentShouldCreateConnectAndUseIt() {
        TestProvider redis = new TestProvider("redis");
        ActiveCoordinator active = CoordinatorSelection.select(enabled("redis"),
                List.of(new TestProvider("etcd"), redis));
        assertThat(active.coordinator()).isSameAs(redis.created.get());
        assertThat(active.coordinator().isConnected()).isTrue();
        assertThat(redis.namespace.get()).isEqualTo("app:pools");
        assertThat(active.requestedBackend()).isEqualTo("redis");
        assertThat(active.activeBackend()).isEqualTo("redis");
        assertThat(active.fellBack()).isFalse();
        assertThat(this.log.messages(Level.WARN)).isEmpty();
    }

    @Test
    void selectWhenNoProviderHasTheNameShouldWarnOnceAndFallBack() {
        ActiveCoordinator active = CoordinatorSelection.select(enabled("etcd"),
                List.of(new TestProvider("redis"), new TestProvider("custom")));
        assertThat(active.coordinator()).isInstanceOf(NoOpCoordinator.class);
        assertThat(active.coordinator().isConnected()).isTrue();
        assertThat(active.requestedBackend()).isEqualTo("etcd");
        assertThat(active.fallbackReason())
            .isEqualTo("Coordination backend 'etcd' is not available: no coordinator named 'etcd' "
                    + "is on the classpath; available: custom, redis; add io.pivotpool:pivot-pool-etcd to the "
                    + "application's dependencies");
        assertThat(this.log.messages(Level.WARN)).singleElement()
            .asString()
            .startsWith(active.fallbackReason())
            .contains("falling back to the no-op coordinator");
    }

    @Test
    void selectWhenNoProviderIsOnTheClasspathShouldSayNoneIsAvailableAndNameTheModule() {
        ActiveCoordinator active = CoordinatorSelection.select(enabled("redis"), List.of());
        assertThat(active.fallbackReason())
            .endsWith("available: none; add io.pivotpool:pivot-pool-redis to the application's dependencies");
        assertThat(this.log.messages(Level.WARN)).hasSize(1);
    }

    @Test
    void selectOfEtcdWithoutItsModuleShouldNameTheModule() {
        ActiveCoordinator active = CoordinatorSelection.select(enabled("etcd"), List.of(new TestProvider("redis")));
        assertThat(active.fallbackReason())
            .endsWith("available: redis; add io.pivotpool:pivot-pool-etcd to the application's dependencies");
    }

    @Test
    void selectOfABackendThisProjectDoesNotPublishShouldNotGuessAModule() {
        ActiveCoordinator active = CoordinatorSelection.select(enabled("consul"), List.of());
        assertThat(active.fallbackReason()).endsWith("available: none");
    }

    @Test
    void selectWhenCreateThrowsShouldWarnOnceWithTheMessageAndFallBack() {
        TestProvider broken = new TestProvider("redis");
        broken.createFailure = new IllegalStateException("no connection factory configured");
        ActiveCoordinator active = CoordinatorSelection.select(enabled("redis"), List.of(broken));
        assertThat(active.coordinator()).isInstanceOf(NoOpCoordinator.class);
        assertThat(active.fallbackReason()).isEqualTo(
                "Coordination backend 'redis' could not be created: no connection factory configured (IllegalStateException)");
        assertThat(this.log.messages(Level.WARN)).singleElement().asString().startsWith(active.fallbackReason());
    }

    @Test
    void selectWhenConnectThrowsShouldWarnOnceAndKeepTheBackendForItsRoundsToConnect() {
        TestProvider unreachable = new TestProvider("redis");
        unreachable.connectFailure = new CoordinatorException("redis: cannot reach localhost:6390 (connection refused)");
        ActiveCoordinator active = CoordinatorSelection.select(enabled("redis"), List.of(unreachable));
        assertThat(active.coordinator()).as("the backend, kept rather than replaced by the no-op one")
            .isSameAs(unreachable.created.get());
        assertThat(active.fellBack()).isFalse();
        assertThat(active.coordinator().isConnected()).isFalse();
        assertThat(unreachable.created.get().closed).as("the backend that failed to connect stays open").isFalse();
        assertThat(this.log.messages(Level.WARN)).singleElement().asString()
            .startsWith("Coordination backend 'redis' could not connect: "
                    + "redis: cannot reach localhost:6390 (connection refused) (CoordinatorException); "
                    + "keeping it and trying again every sync-interval")
            .contains("capped pools hold nothing");
    }

    @Test
    void selectWhenTheFailureHasNoMessageShouldNameTheExceptionType() {
        TestProvider broken = new TestProvider("redis");
        broken.connectFailure = new NullPointerException();
        CoordinatorSelection.select(enabled("redis"), List.of(broken));
        assertThat(this.log.messages(Level.WARN)).singleElement().asString()
            .contains("could not connect: NullPointerException;");
    }

    @Test
    void selectWithFailFastShouldThrowTheFallbackMessageInsteadOfWarning() {
        DistributedSettings failFast = enabled("etcd").toBuilder().failFast(true).build();
        assertThatExceptionOfType(CoordinatorException.class)
            .isThrownBy(() -> CoordinatorSelection.select(failFast, List.of(new TestProvider("redis"))))
            .withMessage("Coordination backend 'etcd' is not available: no coordinator named 'etcd' is on the classpath; "
                    + "available: redis; add io.pivotpool:pivot-pool-etcd to the application's dependencies "
                    + "(distributed.fail-fast is true)");
        TestProvider broken = new TestProvider("redis");
        broken.createFailure = new IllegalStateException("bad setup");
        DistributedSettings failFastRedis = failFast.toBuilder().coordination("redis").build();
        assertThatExceptionOfType(CoordinatorException.class)
            .isThrownBy(() -> CoordinatorSelection.select(failFastRedis, List.of(broken)))
            .withMessageContaining("'redis' could not be created: bad setup");
        TestProvider unreachable = new TestProvider("redis");
        unreachable.connectFailure = new CoordinatorException("redis: connection refused");
        assertThatExceptionOfType(CoordinatorException.class)
            .isThrownBy(() -> CoordinatorSelection.select(failFastRedis, List.of(unreachable)))
            .withMessageContaining("'redis' could not connect: redis: connection refused");
        assertThat(this.log.messages(Level.WARN)).isEmpty();
    }

    @Test
    void selectWithFailFastShouldStillAllowNone() {
        DistributedSettings failFast = enabled("none").toBuilder().failFast(true).build();
        assertThat(CoordinatorSelection.select(failFast, List.of()).coordinator()).isInstanceOf(NoOpCoordinator.class);
    }

    @Test
    void selectWhenTwoProvidersShareTheRequestedNameShouldRefuseToGuess() {
        assertThatIllegalStateException()
            .isThrownBy(() -> CoordinatorSelection.select(enabled("redis"),
                    List.of(new TestProvider("redis"), new TestProvider("redis"))))
            .withMessageContaining("'redis' is provided 2 times");
    }

    @Test
    void useShouldConnectTheGivenCoordinator() {
        TestCoordinator custom = new TestCoordinator("custom");
        ActiveCoordinator active = CoordinatorSelection.use(custom, DistributedSettings.DEFAULTS);
        assertThat(active.coordinator()).isSameAs(custom);
        assertThat(custom.isConnected()).isTrue();
        assertThat(active.requestedBackend()).isEqualTo("custom");
        assertThat(active.fellBack()).isFalse();
    }

    @Test
    void useWhenConnectThrowsShouldKeepTheCoordinatorOrFailFast() {
        TestCoordinator custom = new TestCoordinator("custom");
        custom.connectFailure = new CoordinatorException("custom: down");
        ActiveCoordinator active = CoordinatorSelection.use(custom, DistributedSettings.DEFAULTS);
        assertThat(active.coordinator()).isSameAs(custom);
        assertThat(active.fellBack()).isFalse();
        assertThat(this.log.messages(Level.WARN)).singleElement().asString()
            .startsWith("Coordination backend 'custom' could not connect: custom: down");
        DistributedSettings failFast = DistributedSettings.builder().failFast(true).build();
        assertThatExceptionOfType(CoordinatorException.class)
            .isThrownBy(() -> CoordinatorSelection.use(custom, failFast))
            .withMessageStartingWith("Coordination backend 'custom' could not connect: custom: down");
    }

    @Test
    void observedByShouldReportEveryCallOfTheSelectedCoordinator() {
        List<String> operations = new java.util.concurrent.CopyOnWriteArrayList<>();
        ActiveCoordinator active = CoordinatorSelection.select(DistributedSettings.DEFAULTS, List.of())
            .observedBy((operation, backend, nanos, success) -> operations
                .add(operation + "@" + backend + ":" + success + ":" + (nanos >= 0)));
        active.coordinator().set("k", new byte[] { 1 }, null);
        active.coordinator().get("k");
        assertThat(operations).containsExactly("set@noop:true:true", "get@noop:true:true");
        assertThat(active.activeBackend()).isEqualTo("noop");
    }

    private static DistributedSettings enabled(String coordination) {
        return DistributedSettings.builder().enabled(true).coordination(coordination).namespace("app:pools").build();
    }

    /** A backend that registers by name; its failures are scripted. */
    private static final class TestProvider implements CoordinatorProvider {

        private final String name;

        private final AtomicReference<TestCoordinator> created = new AtomicReference<>();

        private final AtomicReference<String> namespace = new AtomicReference<>();

        private RuntimeException createFailure;

        private RuntimeException connectFailure;

        TestProvider(String name) {
            this.name = name;
        }

        @Override
        public String name() {
            return this.name;
        }

        @Override
        public Coordinator create(String namespace) {
            if (this.createFailure != null) {
                throw this.createFailure;
            }
            this.namespace.set(namespace);
            TestCoordinator coordinator = new TestCoordinator(this.name);
            coordinator.connectFailure = this.connectFailure;
            this.created.set(coordinator);
            return coordinator;
        }
    }

    /** A working in-memory coordinator under another name, whose connect can be made to fail. */
    static final class TestCoordinator extends ForwardingCoordinator {

        private final String name;

        private final AtomicBoolean connected = new AtomicBoolean();

        private RuntimeException connectFailure;

        private boolean closed;

        TestCoordinator(String name) {
            super(new NoOpCoordinator());
            this.name = name;
        }

        @Override
        public String name() {
            return this.name;
        }

        @Override
        public void connect() {
            if (this.connectFailure != null) {
                throw this.connectFailure;
            }
            this.connected.set(true);
        }

        @Override
        public boolean isConnected() {
            return this.connected.get();
        }

        @Override
        public void close() {
            this.closed = true;
            this.connected.set(false);
        }
    }
}
