package io.pivotpool.etcd.autoconfigure;

import java.util.List;

import java.util.Map;

import io.pivotpool.autoconfigure.PivotPoolAutoConfiguration;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorProvider;
import io.pivotpool.testsupport.TestCertificates;
import io.pivotpool.testsupport.etcd.EtcdServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.actuate.autoconfigure.context.properties.ConfigurationPropertiesReportEndpointAutoConfiguration;
import org.springframework.boot.actuate.autoconfigure.env.EnvironmentEndpointAutoConfiguration;
import org.springframework.boot.actuate.context.properties.ConfigurationPropertiesReportEndpoint;
import org.springframework.boot.actuate.endpoint.SanitizableData;
import org.springframework.boot.actuate.env.EnvironmentEndpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.annotation.ImportCandidates;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;

/** Tests for {@link EtcdCoordinatorAutoConfiguration} and {@link EtcdCredentialsSanitizingAutoConfiguration}. */
class EtcdCoordinatorAutoConfigurationTests {

    private static final String PASSWORD = "s3cret-etcd-pw";

    private static EtcdServer server;

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(EtcdCoordinatorAutoConfiguration.class,
                EtcdCredentialsSanitizingAutoConfiguration.class, PivotPoolAutoConfiguration.class));

    @BeforeAll
    static void startServer() {
        server = EtcdServer.start();
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void moduleListsItsAutoConfigurationsInItsOwnImportsFile() {
        assertThat(ImportCandidates.load(AutoConfiguration.class, getClass().getClassLoader()).getCandidates())
            .contains(EtcdCoordinatorAutoConfiguration.class.getName(),
                    EtcdCredentialsSanitizingAutoConfiguration.class.getName());
    }

    @Test
    void orderingNamesTheGenericAutoConfigurationThatExists() {
        assertThat(EtcdCoordinatorAutoConfiguration.PIVOT_POOL_AUTO_CONFIGURATION)
            .isEqualTo(PivotPoolAutoConfiguration.class.getName());
    }

    @Test
    void runShouldContributeAProviderNamedEtcdWithoutConnecting() {
        this.contextRunner.withPropertyValues("distributed.etcd.endpoints=http://127.0.0.1:1").run((context) -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBeansOfType(CoordinatorProvider.class).values()).extracting(CoordinatorProvider::name)
                .contains("etcd");
        });
    }

    @Test
    void runWithCoordinationEtcdShouldCoordinateThroughEtcd() {
        this.contextRunner
            .withPropertyValues("distributed.enabled=true", "distributed.coordination=etcd",
                    "distributed.etcd.endpoints=" + String.join(",", server.endpoints()), "distributed.etcd.timeout=1s")
            .run((context) -> {
                assertThat(context).hasNotFailed();
                Coordinator coordinator = context.getBean(Coordinator.class);
                assertThat(coordinator.name()).isEqualTo("etcd");
                assertThat(coordinator.isConnected()).isTrue();
            });
    }

    @Test
    void anEtcdConnectionDetailsBeanShouldWinOverTheEndpointProperties() {
        this.contextRunner
            .withPropertyValues("distributed.enabled=true", "distributed.coordination=etcd",
                    "distributed.etcd.endpoints=http://127.0.0.1:1", "distributed.etcd.timeout=1s")
            .withBean(EtcdConnectionDetails.class, () -> () -> server.endpoints())
            .run((context) -> {
                assertThat(context).hasNotFailed();
                assertThat(context).getBeans(EtcdConnectionDetails.class).hasSize(1);
                Coordinator coordinator = context.getBean(Coordinator.class);
                assertThat(coordinator.name()).isEqualTo("etcd");
                assertThat(coordinator.isConnected()).as("connected to the bean's endpoints, not port 1").isTrue();
            });
    }

    @Test
    void withoutSuchABeanThePropertiesAreTheConnectionDetails() {
        this.contextRunner.withPropertyValues("distributed.etcd.endpoints=http://10.0.0.1:2379", "distributed.etcd.username=u")
            .run((context) -> {
                EtcdConnectionDetails details = context.getBean(EtcdConnectionDetails.class);
                assertThat(details.getEndpoints()).containsExactly("http://10.0.0.1:2379");
                assertThat(details.getUsername()).isEqualTo("u");
            });
    }

    @Test
    void badEndpointsFromAnEtcdConnectionDetailsBeanShouldFailNamingTheBean() {
        this.contextRunner.withBean(EtcdConnectionDetails.class, () -> () -> List.of("localhost:2379"))
            .run((context) -> {
                assertThat(context).hasFailed();
                assertThat(context.getStartupFailure()).hasStackTraceContaining("EtcdConnectionDetails")
                    .hasStackTraceContaining("an etcd endpoint must be an http:// or https:// URL");
            });
    }

    @Test
    void runWithSeveralEndpointsShouldBindThemAll() {
        this.contextRunner
            .withPropertyValues("distributed.etcd.endpoints=http://10.0.0.1:2379,http://10.0.0.2:2379,http://10.0.0.3:2379")
            .run((context) -> assertThat(context.getBean(EtcdProperties.class).getEndpoints()).hasSize(3));
    }

    @Test
    void runWithABadEndpointShouldFailNamingTheProperty() {
        this.contextRunner.withPropertyValues("distributed.etcd.endpoints=localhost:2379").run((context) -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure())
                .hasStackTraceContaining("distributed.etcd.endpoints: an etcd endpoint must be an http:// or https:// URL")
                .hasStackTraceContaining("was 'localhost:2379'");
        });
    }

    @Test
    void runWithMutualTlsPropertiesShouldBindThemAndCoordinateOverTls() {
        try (TestCertificates certificates = TestCertificates.create();
                EtcdServer tlsServer = EtcdServer.startWithMutualTls(certificates)) {
            this.contextRunner
                .withPropertyValues("distributed.enabled=true", "distributed.coordination=etcd",
                        "distributed.etcd.endpoints=" + String.join(",", tlsServer.endpoints()),
                        "distributed.etcd.trust-certificates=" + certificates.caCertificate(),
                        "distributed.etcd.client-certificate=" + certificates.clientCertificate(),
                        "distributed.etcd.client-key=" + certificates.clientKey(), "distributed.etcd.timeout=2s")
                .run((context) -> {
                    assertThat(context).hasNotFailed();
                    EtcdProperties properties = context.getBean(EtcdProperties.class);
                    assertThat(properties.getTrustCertificates()).isEqualTo(certificates.caCertificate());
                    assertThat(properties.getClientCertificate()).isEqualTo(certificates.clientCertificate());
                    assertThat(properties.getClientKey()).isEqualTo(certificates.clientKey());
                    Coordinator coordinator = context.getBean(Coordinator.class);
                    assertThat(coordinator.name()).isEqualTo("etcd");
                    assertThat(coordinator.isConnected()).isTrue();
                });
        }
    }

    @Test
    void runWithAClientCertificateButNoKeyShouldFailNamingBothProperties() {
        try (TestCertificates certificates = TestCertificates.create()) {
            this.contextRunner
                .withPropertyValues("distributed.etcd.endpoints=https://127.0.0.1:2379",
                        "distributed.etcd.client-certificate=" + certificates.clientCertificate())
                .run((context) -> {
                    assertThat(context).hasFailed();
                    assertThat(context.getStartupFailure()).hasStackTraceContaining("distributed.etcd.client-certificate ("
                            + certificates.clientCertificate() + ") is set without client-key");
                });
        }
    }

    @Test
    void runWithTrustCertificatesAndHttpEndpointsShouldFailRatherThanSpeakPlainText() {
        try (TestCertificates certificates = TestCertificates.create()) {
            this.contextRunner
                .withPropertyValues("distributed.etcd.trust-certificates=" + certificates.caCertificate())
                .run((context) -> {
                    assertThat(context).hasFailed();
                    assertThat(context.getStartupFailure())
                        .hasStackTraceContaining("distributed.etcd.trust-certificates (" + certificates.caCertificate()
                                + ") is set, but the endpoints [http://localhost:2379] are http://, plain text");
                });
        }
    }

    @Test
    void runWithAPasswordButNoUsernameShouldFailNamingThePassword() {
        this.contextRunner.withPropertyValues("distributed.etcd.password=" + PASSWORD).run((context) -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).hasStackTraceContaining("distributed.etcd.password is set without a username");
            assertThat(context.getStartupFailure()).satisfies(failure -> assertThat(stackTrace(failure)).doesNotContain(PASSWORD));
        });
    }

    @Test
    void runWhenPivotPoolIsDisabledShouldContributeNothing() {
        new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(EtcdCoordinatorAutoConfiguration.class))
            .withPropertyValues("pivot.pool.enabled=false")
            .run((context) -> assertThat(context).doesNotHaveBean(CoordinatorProvider.class));
    }

    @Test
    void propertiesToStringShouldNeverShowThePassword() {
        EtcdProperties properties = new EtcdProperties();
        properties.setUsername("pivot");
        properties.setPassword(PASSWORD);
        assertThat(properties.toString()).doesNotContain(PASSWORD);
        assertThat(properties.toSettings(new PropertiesEtcdConnectionDetails(properties), "ns").toString()).doesNotContain(PASSWORD);
    }

    @Test
    void runWithShowValuesAlwaysShouldMaskThePasswordInConfigpropsAndEnv() {
        new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(EtcdCoordinatorAutoConfiguration.class,
                    EtcdCredentialsSanitizingAutoConfiguration.class,
                    ConfigurationPropertiesReportEndpointAutoConfiguration.class, EnvironmentEndpointAutoConfiguration.class))
            .withPropertyValues("management.endpoints.web.exposure.include=configprops,env",
                    "management.endpoint.configprops.show-values=always", "management.endpoint.env.show-values=always",
                    "distributed.etcd.username=pivot", "distributed.etcd.password=" + PASSWORD)
            .run((context) -> {
                Map<String, Object> properties = context.getBean(ConfigurationPropertiesReportEndpoint.class)
                    .configurationPropertiesWithPrefix("distributed.etcd")
                    .getContexts()
                    .values()
                    .iterator()
                    .next()
                    .getBeans()
                    .values()
                    .stream()
                    .filter(bean -> bean.getPrefix().equals("distributed.etcd"))
                    .findFirst()
                    .orElseThrow()
                    .getProperties();
                assertThat(properties).containsEntry("password", SanitizableData.SANITIZED_VALUE)
                    .containsEntry("username", "pivot");
                EnvironmentEndpoint env = context.getBean(EnvironmentEndpoint.class);
                assertThat(env.environmentEntry("distributed.etcd.password").getProperty().getValue())
                    .isEqualTo(SanitizableData.SANITIZED_VALUE);
                assertThat(env.environmentEntry("distributed.etcd.username").getProperty().getValue()).isEqualTo("pivot");
            });
    }

    private static String stackTrace(Throwable failure) {
        java.io.StringWriter text = new java.io.StringWriter();
        failure.printStackTrace(new java.io.PrintWriter(text));
        return text.toString();
    }

    @Test
    void credentialKeyShouldBeRecognisedInEveryRelaxedForm() {
        assertThat(EtcdCredentialsSanitizingAutoConfiguration.isEtcdCredential("distributed.etcd.password")).isTrue();
        assertThat(EtcdCredentialsSanitizingAutoConfiguration.isEtcdCredential("DISTRIBUTED_ETCD_PASSWORD")).isTrue();
        assertThat(EtcdCredentialsSanitizingAutoConfiguration.isEtcdCredential("distributed.etcd[password]")).isTrue();
        assertThat(EtcdCredentialsSanitizingAutoConfiguration.isEtcdCredential("distributed.etcd.username")).isFalse();
    }
}
