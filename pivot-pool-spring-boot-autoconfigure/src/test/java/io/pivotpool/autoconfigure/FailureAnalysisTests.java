package io.pivotpool.autoconfigure;

import io.pivotpool.autoconfigure.TestPools.RendererSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.core.io.DefaultResourceLoader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;

/**
 * What a user reads under "APPLICATION FAILED TO START": a real {@link SpringApplication} run, so
 * that the analyzers are found through {@code spring.factories} as in an application, and the
 * report names the property, the value and the fix.
 */
@ExtendWith(OutputCaptureExtension.class)
class FailureAnalysisTests {

    @Test
    void aBrokenRuleShouldNameThePropertyTheValueAndTheFix(CapturedOutput output) {
        fail(null, "pivot.pool.pools.renderers.min-idle=8", "pivot.pool.pools.renderers.max-size=4");
        assertThat(report(output))
            .contains("Invalid value '8' for configuration property 'pivot.pool.pools.renderers.min-idle'")
            .contains("min-idle (8) must not exceed max-size (4)")
            .contains("Action:")
            .contains("Change pivot.pool.pools.renderers.min-idle (or pivot.pool.pools.renderers.max-size) so that "
                    + "min-idle keeps the rule above.");
    }

    @Test
    void aPoolRuleBrokenByTheProfileShouldShowTheProfilesValueAndNameBothProperties(CapturedOutput output) {
        fail(null, "pivot.pool.profile=extreme", "pivot.pool.pools.renderers.max-size=8");
        assertThat(report(output))
            // No origin after the name: min-idle is set nowhere, its value is the profile's.
            .contains("Invalid value '16' for configuration property 'pivot.pool.pools.renderers.min-idle':")
            .contains("min-idle (16) must not exceed max-size (8) (min-idle is not set, so it comes from "
                    + "pivot.pool.profile=extreme)")
            .contains("Set pivot.pool.pools.renderers.min-idle (or pivot.pool.pools.renderers.max-size) so that "
                    + "min-idle keeps the rule above, or choose another pivot.pool.profile than extreme.");
    }

    @Test
    void aTypoShouldFailStartupNamingTheNearestKey(CapturedOutput output) {
        fail(null, "pivot.pool.pools.renderers.max-szie=4");
        assertThat(report(output)).contains("Pivot Pool does not know these configuration properties")
            .contains("unknown key pivot.pool.pools.renderers.max-szie (from \"pivot.pool.pools.renderers.max-szie\" "
                    + "from property source \"commandLineArgs\"); did you mean pivot.pool.pools.renderers.max-size?")
            .contains("Rename pivot.pool.pools.renderers.max-szie to pivot.pool.pools.renderers.max-size, or remove it.");
    }

    @Test
    void anUnquotedNamespaceInBracesShouldFailStartupSayingItIsAMap(CapturedOutput output) {
        fail(null, "spring.config.location=classpath:namespace-as-map.yml");
        assertThat(report(output))
            .contains("distributed.namespace takes one value but was given a map or list (distributed.namespace.orders "
                    + "(from class path resource [namespace-as-map.yml] - 2:")
            .contains("Write distributed.namespace as one quoted value");
    }

    @Test
    void anUnknownProfileShouldListTheProfiles(CapturedOutput output) {
        fail(null, "pivot.pool.profile=turbo");
        assertThat(report(output)).contains("Invalid value 'turbo' for configuration property 'pivot.pool.profile'")
            .contains("Set pivot.pool.profile to one of standard, high, extreme, test.");
    }

    @Test
    void aRuleBrokenByTheProfileShouldSayToSetThePropertyOrChangeTheProfile(CapturedOutput output) {
        fail(null, "distributed.sync-interval=30s");
        assertThat(report(output))
            .contains("Invalid value 'PT10S' for configuration property 'distributed.leader-ttl'")
            .contains("leader-ttl (PT10S) must be longer than sync-interval (PT30S)")
            .contains("comes from pivot.pool.profile=standard")
            .contains("Set distributed.leader-ttl (or distributed.sync-interval) so that leader-ttl keeps the rule "
                    + "above, or choose another pivot.pool.profile than standard.");
    }

    @Test
    void aNumberBeyondAnIntShouldSayTheRangeNotThrowABareNumberFormatException(CapturedOutput output) {
        fail(null, "pivot.pool.pools.renderers.global-max-size=3000000000");
        assertThat(report(output))
            .contains("Invalid value '3000000000' for configuration property "
                    + "'pivot.pool.pools.renderers.global-max-size'")
            .contains("it must be a whole number from -2147483648 to 2147483647")
            .contains("Set pivot.pool.pools.renderers.global-max-size to a whole number");
    }

    @Test
    void aDurationThatIsNotOneShouldGiveExamples(CapturedOutput output) {
        fail(null, "distributed.sync-interval=soon");
        assertThat(report(output))
            .contains("Invalid value 'soon' for configuration property 'distributed.sync-interval'")
            .contains("it must be a duration such as 500ms, 2s, 1m or PT2S");
    }

    @Test
    void aSwitchThatIsNotABooleanShouldSaySo(CapturedOutput output) {
        fail(null, "distributed.leader-election=maybe");
        assertThat(report(output))
            .contains("Invalid value 'maybe' for configuration property 'distributed.leader-election'")
            .contains("it must be true or false");
    }

    @Test
    void anUnknownOverflowShouldListTheValidValues(CapturedOutput output) {
        fail(null, "pivot.pool.pools.renderers.overflow=sometimes");
        assertThat(report(output))
            .contains("Invalid value 'sometimes' for configuration property 'pivot.pool.pools.renderers.overflow'")
            .contains("it must be one of wait, elastic, fallback, fail.")
            .contains("Set pivot.pool.pools.renderers.overflow to one of wait, elastic, fallback, fail.");
    }

    @Test
    void failFastWithAMissingBackendShouldNameTheModuleToAdd(CapturedOutput output) {
        fail(null, "distributed.enabled=true", "distributed.coordination=redis", "distributed.fail-fast=true",
                "spring.autoconfigure.exclude=io.pivotpool.autoconfigure.redis.RedisCoordinatorAutoConfiguration");
        assertThat(report(output)).contains("Coordination backend 'redis' is not available")
            .contains("Requested by distributed.coordination=redis")
            .contains("distributed.fail-fast=true")
            .contains("Add io.pivotpool:pivot-pool-redis (the 'redis' backend) to the application's dependencies")
            .contains("set distributed.fail-fast=false to start alone");
    }

    @Test
    void failFastWithEtcdMissingShouldNameItsModule(CapturedOutput output) {
        fail(null, "distributed.enabled=true", "distributed.coordination=etcd", "distributed.fail-fast=true");
        assertThat(report(output)).contains("Coordination backend 'etcd' is not available")
            .contains("Add io.pivotpool:pivot-pool-etcd (the 'etcd' backend) to the application's dependencies");
    }

    @Test
    void failFastWithAnUnreachableBackendShouldSayWhereAndWhatToDo(CapturedOutput output) {
        fail(TestExtension.onClassPath(), "distributed.enabled=true", "distributed.coordination=custom",
                "custom.refuse-connections=true", "distributed.fail-fast=true");
        assertThat(report(output)).contains("Coordination backend 'custom' could not connect")
            .contains("custom.example:7000 refused the connection")
            .contains("Make backend 'custom' reachable at the address above")
            .contains("set distributed.fail-fast=false to start alone");
    }

    private static void fail(ClassLoader classLoader, String... properties) {
        SpringApplication application = (classLoader != null)
                ? new SpringApplication(new DefaultResourceLoader(classLoader), Application.class)
                : new SpringApplication(Application.class);
        application.setWebApplicationType(WebApplicationType.NONE);
        String[] arguments = new String[properties.length + 2];
        arguments[0] = "--spring.jmx.enabled=false";
        arguments[1] = "--management.endpoints.jmx.exposure.exclude=*";
        for (int i = 0; i < properties.length; i++) {
            arguments[i + 2] = "--" + properties[i];
        }
        assertThatException().isThrownBy(() -> application.run(arguments).close());
    }

    /** The failure analysis as printed, from its banner on. */
    private static String report(CapturedOutput output) {
        String all = output.getAll();
        int start = all.indexOf("APPLICATION FAILED TO START");
        assertThat(start).as("a failure analysis in:%n%s", all).isNotNegative();
        return all.substring(start);
    }

    @Configuration(proxyBeanMethods = false)
    @EnableAutoConfiguration
    @Import(RendererSpec.class)
    static class Application {

    }
}
