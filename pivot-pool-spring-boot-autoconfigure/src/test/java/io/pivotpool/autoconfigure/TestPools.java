package io.pivotpool.autoconfigure;

import java.util.concurrent.atomic.AtomicInteger;

import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolSpec;

import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Pooled types and spec beans shared by the auto-configuration tests. */
public final class TestPools {

    private TestPools() {
    }

    public static final class Renderer {

        private static final AtomicInteger created = new AtomicInteger();

        final int id = created.incrementAndGet();
    }

    public static final class Parser {
    }

    /** Two pools of different types, so that injection by generic type has to tell them apart. */
    @Configuration(proxyBeanMethods = false)
    public static class TwoSpecs {

        @Bean
        PoolSpec<Renderer> rendererSpec() {
            return PoolSpec.of("renderers", Renderer::new);
        }

        @Bean
        PoolSpec<Parser> parserSpec() {
            return PoolSpec.of("parsers", Parser::new);
        }
    }

    @Configuration(proxyBeanMethods = false)
    public static class RendererSpec {

        @Bean
        PoolSpec<Renderer> rendererSpec() {
            return PoolSpec.of("renderers", Renderer::new);
        }
    }

    /** A spec bean named like its own pool: the pool cannot take the name. */
    @Configuration(proxyBeanMethods = false)
    static class SpecNamedLikeItsPool {

        @Bean
        PoolSpec<Renderer> renderers() {
            return PoolSpec.of("renderers", Renderer::new);
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class DuplicateSpecs {

        @Bean
        PoolSpec<Renderer> one() {
            return PoolSpec.of("renderers", Renderer::new);
        }

        @Bean
        PoolSpec<Renderer> two() {
            return PoolSpec.of("renderers", Renderer::new);
        }
    }

    /** Injects pools by generic type and by name. */
    static final class PoolUsers {

        final Pool<Renderer> renderers;

        final Pool<Parser> parsers;

        final Pool<?> byName;

        PoolUsers(Pool<Renderer> renderers, Pool<Parser> parsers, @Qualifier("renderers") Pool<?> byName) {
            this.renderers = renderers;
            this.parsers = parsers;
            this.byName = byName;
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class PoolUsersConfiguration {

        @Bean
        PoolUsers poolUsers(Pool<Renderer> renderers, Pool<Parser> parsers, @Qualifier("renderers") Pool<?> byName) {
            return new PoolUsers(renderers, parsers, byName);
        }
    }
}
