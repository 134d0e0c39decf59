package io.pivotpool.etcd;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

import ch.qos.logback.classic.Level;
import io.etcd.jetcd.auth.Permission;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.distributed.DistributedSettings;
import io.pivotpool.distributed.internal.ActiveCoordinator;
import io.pivotpool.distributed.internal.CoordinatorSelection;
import io.pivotpool.testsupport.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static io.pivotpool.etcd.EveryOperation.bytes;
import static io.pivotpool.etcd.RawEtcd.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * An etcd with authentication enabled: the right user and password do everything; a wrong
 * password, or none, fails {@code connect()} saying so, and no password ever appears in a message,
 * a cause, a {@code toString()} or a log line (jetcd's debug output included); a user whose role
 * reaches another prefix only is denied, with a message naming the user, the operation and the
 * prefix it needs.
 */
class EtcdAuthenticationTests {

    @RegisterExtension
    static final EtcdAuth auth = new EtcdAuth();

    @Test
    void rightPasswordShouldDoEverythingAndShowItNowhere() {
        String namespace = "auth:" + UUID.randomUUID().toString().substring(0, 8);
        auth.allow(auth.user(), namespace);
        RawEtcd.establish(auth.root(), namespace);
        try (EtcdCoordinator coordinator = EtcdCoordinator.create(auth.settings(auth.user(), namespace).build())) {
            coordinator.connect();
            EveryOperation.run(coordinator);
            assertThat(coordinator + " " + auth.settings(auth.user(), namespace).build()).doesNotContain(auth.user().password());
        }
    }

    @Test
    void wrongPasswordShouldFailConnectButNeverShowEitherPassword() {
        String wrong = "wrong-" + UUID.randomUUID();
        EtcdAuth.User impostor = new EtcdAuth.User(auth.user().name(), wrong);
        try (LogCapture logs = LogCapture.everything()
            .withDebug("io.etcd")
            .withDebug("io.grpc")
            .withDebug("io.vertx")
            .withDebug("io.pivotpool");
                EtcdCoordinator coordinator = EtcdCoordinator.create(auth.settings(impostor, "auth-wrong").build())) {
            CoordinatorException failure = EtcdTlsContractTests.connectFailure(coordinator);
            assertThat(failure.getMessage()).contains("etcd coordinator (" + auth.server().endpoints().get(0))
                .contains("could not connect")
                .contains("authentication failed, invalid user ID or password");
            assertThat(logs.all()).as("the capture saw the login at gRPC's debug level")
                .contains("/etcdserverpb.Auth/Authenticate");
            String everything = stackTrace(failure) + "\n" + coordinator + "\n" + logs.all();
            assertThat(everything).doesNotContain(wrong).doesNotContain(auth.user().password());
            // gRPC's frame logger (io.grpc.netty.NettyClientHandler at DEBUG) dumps every frame in hex, the
            // Authenticate request with its password included: the README warns against enabling it. Nothing else may.
            String hex = HexFormat.of().formatHex(wrong.getBytes(StandardCharsets.UTF_8));
            assertThat(logs.all().lines().filter(line -> line.contains(hex)))
                .allMatch(line -> line.startsWith("io.grpc.netty.NettyClientHandler "));
        }
    }

    @Test
    void noCredentialsShouldFailConnect() {
        try (EtcdCoordinator coordinator = EtcdCoordinator.create(EtcdCoordinatorSettings.builder()
            .endpoints(auth.server().endpoints())
            .namespace("auth-anonymous")
            .timeout(Duration.ofSeconds(2))
            .build())) {
            CoordinatorException failure = EtcdTlsContractTests.connectFailure(coordinator);
            assertThat(failure.getMessage()).contains("could not connect").contains("user name is empty");
            assertThat(coordinator.isConnected()).isFalse();
        }
    }

    @Test
    void aUserOfAnotherPrefixShouldFailConnectNamingTheUserAndThePrefixItNeeds() {
        EtcdAuth.User narrow = auth.user("narrow");
        auth.allow(narrow, "elsewhere");
        String namespace = "auth-denied:" + UUID.randomUUID().toString().substring(0, 8);
        try (LogCapture logs = LogCapture.everything();
                EtcdCoordinator coordinator = EtcdCoordinator.create(auth.settings(narrow, namespace).build())) {
            CoordinatorException failure = EtcdTlsContractTests.connectFailure(coordinator);
            assertThat(failure.getMessage()).contains("namespace '" + namespace + "') could not connect")
                .contains("etcd denied user 'narrow' access to its keys: the user's role needs readwrite permission on "
                        + "the prefix '" + namespace + "/'")
                .contains("permission denied");
            assertThat(stackTrace(failure) + logs.all()).doesNotContain(narrow.password());
        }
    }

    @Test
    void aUserWhoMayOnlyReadShouldBeDeniedTheFirstWriteNamingTheOperation() {
        EtcdAuth.User reader = auth.user("reader");
        String namespace = "auth-read:" + UUID.randomUUID().toString().substring(0, 8);
        auth.allow(reader, namespace, Permission.Type.READ);
        try (EtcdCoordinator coordinator = EtcdCoordinator.create(auth.settings(reader, namespace).build())) {
            coordinator.connect();
            CoordinatorException failure = catchThrowableOfType(CoordinatorException.class,
                    () -> coordinator.set("k", bytes("v"), null));
            assertThat(failure).isNotNull();
            assertThat(failure.getMessage()).contains("namespace '" + namespace + "') could not set")
                .contains("etcd denied user 'reader' access to its keys")
                .contains("permission denied");
            assertThat(await(auth.root().getKVClient().get(RawEtcd.bytes(new EtcdKeys(namespace).state("k"))))
                .getCount()).as("nothing was written").isZero();
        }
    }

    @Test
    void selectionWithAWrongPasswordShouldKeepEtcdWithOneWarningThatHidesThePassword() {
        String wrong = "wrong-" + UUID.randomUUID();
        DistributedSettings settings = DistributedSettings.builder().enabled(true).coordination("etcd").build();
        EtcdCoordinatorProvider provider = EtcdCoordinatorProvider
            .of(auth.settings(new EtcdAuth.User(auth.user().name(), wrong), "auth-selection").build());
        try (LogCapture logs = LogCapture.everything();
                ActiveCoordinator active = CoordinatorSelection.select(settings, List.of(provider))) {
            assertThat(active.fellBack()).isFalse();
            assertThat(active.activeBackend()).isEqualTo("etcd");
            assertThat(logs.messages(Level.WARN)).singleElement().asString().contains("etcd coordinator")
                .contains("could not connect").contains("authentication failed");
            assertThat(logs.all() + provider + active).doesNotContain(wrong);
        }
    }

    private static String stackTrace(Throwable failure) {
        StringWriter text = new StringWriter();
        failure.printStackTrace(new PrintWriter(text));
        return text.toString();
    }
}
