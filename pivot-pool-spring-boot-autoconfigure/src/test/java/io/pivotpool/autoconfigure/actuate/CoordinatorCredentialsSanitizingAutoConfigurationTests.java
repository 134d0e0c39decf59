package io.pivotpool.autoconfigure.actuate;

import java.util.Map;

import io.pivotpool.autoconfigure.PivotPoolAutoConfiguration;
import org.junit.jupiter.api.Test;

import org.springframework.boot.actuate.autoconfigure.context.properties.ConfigurationPropertiesReportEndpointAutoConfiguration;
import org.springframework.boot.actuate.autoconfigure.env.EnvironmentEndpointAutoConfiguration;
import org.springframework.boot.actuate.context.properties.ConfigurationPropertiesReportEndpoint;
import org.springframework.boot.actuate.endpoint.SanitizingFunction;
import org.springframework.boot.actuate.env.EnvironmentEndpoint;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Configuration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link CoordinatorCredentialsSanitizingAutoConfiguration}, with the properties of a
 * backend that this module does not know ({@code distributed.custom.*}); the Redis module proves
 * the same for {@code distributed.redis.password}.
 */
class CoordinatorCredentialsSanitizingAutoConfigurationTests {

    private static final String PASSWORD = "s3cret-backend-pw";

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(PivotPoolAutoConfiguration.class,
                CoordinatorCredentialsSanitizingAutoConfiguration.class,
                ConfigurationPropertiesReportEndpointAutoConfiguration.class, EnvironmentEndpointAutoConfiguration.class))
        .withUserConfiguration(BackendConfiguration.class)
        .withPropertyValues("management.endpoints.web.exposure.include=configprops,env",
                "management.endpoint.configprops.show-values=always", "management.endpoint.env.show-values=always",
                "distributed.custom.password=" + PASSWORD, "distributed.custom.username=pivot");

    @Test
    void runWithShowValuesAlwaysShouldMaskABackendPasswordInConfigprops() {
        this.contextRunner.run((context) -> {
            var beans = context.getBean(ConfigurationPropertiesReportEndpoint.class)
                .configurationPropertiesWithPrefix("distributed")
                .getContexts()
                .values()
                .iterator()
                .next()
                .getBeans();
            Map<String, Object> properties = beans.values()
                .stream()
                .filter(bean -> bean.getPrefix().equals("distributed.custom"))
                .findFirst()
                .orElseThrow()
                .getProperties();
            assertThat(properties).as(properties.toString())
                .containsEntry("password", CoordinatorCredentialsSanitizingAutoConfiguration.MASK)
                .containsEntry("username", "pivot");
            assertThat(properties.toString()).doesNotContain(PASSWORD);
        });
    }

    @Test
    void runWithShowValuesAlwaysShouldMaskABackendPasswordInEnv() {
        this.contextRunner.run((context) -> {
            EnvironmentEndpoint endpoint = context.getBean(EnvironmentEndpoint.class);
            assertThat(endpoint.environmentEntry("distributed.custom.password").getProperty().getValue())
                .isEqualTo(CoordinatorCredentialsSanitizingAutoConfiguration.MASK);
            assertThat(endpoint.environmentEntry("distributed.custom.username").getProperty().getValue()).isEqualTo("pivot");
            assertThat(String.valueOf(endpoint.environment("distributed.*").getPropertySources()
                .stream()
                .map(source -> source.getProperties())
                .toList())).doesNotContain(PASSWORD);
        });
    }

    @Test
    void credentialKeysShouldBeRecognisedInEveryRelaxedForm() {
        assertThat(CoordinatorCredentialsSanitizingAutoConfiguration.isCredential("distributed.redis.password")).isTrue();
        assertThat(CoordinatorCredentialsSanitizingAutoConfiguration.isCredential("DISTRIBUTED_REDIS_PASSWORD")).isTrue();
        assertThat(CoordinatorCredentialsSanitizingAutoConfiguration.isCredential("distributed.redis[password]")).isTrue();
        assertThat(CoordinatorCredentialsSanitizingAutoConfiguration.isCredential("distributed.etcd.auth-token")).isTrue();
        assertThat(CoordinatorCredentialsSanitizingAutoConfiguration.isCredential("distributed.redis.username")).isFalse();
        assertThat(CoordinatorCredentialsSanitizingAutoConfiguration.isCredential("distributed.namespace")).isFalse();
        assertThat(CoordinatorCredentialsSanitizingAutoConfiguration.isCredential("spring.data.redis.host")).isFalse();
    }

    @Test
    void runWithoutTheActuatorShouldNotContributeTheFunction() {
        this.contextRunner.withClassLoader(new FilteredClassLoader(SanitizingFunction.class))
            .run((context) -> assertThat(context).doesNotHaveBean("pivotPoolCoordinatorCredentialsSanitizingFunction"));
    }

    @Configuration(proxyBeanMethods = false)
    @EnableConfigurationProperties(BackendProperties.class)
    static class BackendConfiguration {

    }

    /** The connection settings of some backend module, as a backend would bind them. */
    @ConfigurationProperties("distributed.custom")
    static class BackendProperties {

        private String username;

        private String password;

        public String getUsername() {
            return this.username;
        }

        public void setUsername(String username) {
            this.username = username;
        }

        public String getPassword() {
            return this.password;
        }

        public void setPassword(String password) {
            this.password = password;
        }
    }
}
