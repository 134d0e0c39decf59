package io.pivotpool.autoconfigure;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import io.pivotpool.autoconfigure.PivotPoolProperties.PoolProperties;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.distributed.GlobalCapacity;
import io.pivotpool.pool.Overflow;
import io.pivotpool.pool.Pool;
import io.pivotpool.pool.PoolSettings;
import io.pivotpool.pool.PoolSpec;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.BeanFactoryInitializer;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.beans.factory.support.BeanDefinitionRegistry;
import org.springframework.beans.factory.support.RootBeanDefinition;
import org.springframework.core.ResolvableType;

/**
 * Registers one {@link Pool} bean per {@link PoolSpec} bean, named after the spec's pool name and
 * typed {@code Pool<T>} after the spec's {@code PoolSpec<T>}, so that it is injected by generic
 * type or by name like any other bean.
 *
 * <p>Why a {@link BeanFactoryInitializer}: the bean name comes from {@link PoolSpec#name()}, so
 * the specs must exist before the pools are defined. A bean definition registry post-processor
 * would have to create them before any bean post-processor is registered, leaving the user's
 * configuration (and any {@code @ConfigurationProperties} it injects) half initialised. An
 * initializer runs after every post-processor is in place and before the singletons are created
 * and the configuration is frozen: the specs are created properly, early, and the pool
 * definitions are in place before anything asks for a pool.
 */
final class PoolBeanRegistrar implements BeanFactoryInitializer<ConfigurableListableBeanFactory> {

    private static final Log logger = LogFactory.getLog(PoolBeanRegistrar.class);

    private final PivotPoolProperties properties;

    PoolBeanRegistrar(PivotPoolProperties properties) {
        this.properties = properties;
    }

    @Override
    public void initialize(ConfigurableListableBeanFactory beanFactory) {
        if (!(beanFactory instanceof BeanDefinitionRegistry registry)) {
            throw new IllegalStateException("Pivot Pool needs a bean factory that accepts bean definitions, not "
                    + beanFactory.getClass().getName());
        }
        Map<String, String> specBeanByPool = new LinkedHashMap<>();
        Map<String, RootBeanDefinition> definitions = new LinkedHashMap<>();
        for (String specBeanName : beanFactory.getBeanNamesForType(PoolSpec.class, false, false)) {
            PoolSpec<?> spec = beanFactory.getBean(specBeanName, PoolSpec.class);
            String pool = spec.name();
            String other = specBeanByPool.putIfAbsent(pool, specBeanName);
            if (other != null) {
                throw new IllegalStateException("Pool '" + pool + "' is declared twice, by the PoolSpec beans '"
                        + other + "' and '" + specBeanName + "'; give each PoolSpec its own name");
            }
            if (beanFactory.containsBean(pool)) {
                throw new IllegalStateException("Cannot register pool '" + pool + "' of the PoolSpec bean '"
                        + specBeanName + "': a bean named '" + pool + "' already exists. Name the PoolSpec bean "
                        + "apart from its pool, for example '" + pool + "Spec'");
            }
            PoolProperties poolProperties = this.properties.getPools().get(pool);
            PoolSettings settings = ConfiguredSettings.pool(pool, poolProperties, this.properties.getProfile());
            GlobalCapacity capacity = ConfiguredSettings.capacity(pool, poolProperties);
            definitions.put(pool, definition(beanFactory, specBeanName, spec, settings, capacity));
        }
        List<String> unknown = new ArrayList<>(this.properties.getPools().keySet());
        unknown.removeAll(specBeanByPool.keySet());
        if (!unknown.isEmpty()) {
            String name = unknown.get(0);
            throw new InvalidPropertyException("pivot.pool.pools." + name, name,
                    "no PoolSpec bean declares a pool named '" + name + "' (declared pools: "
                            + (specBeanByPool.isEmpty() ? "none" : String.join(", ", specBeanByPool.keySet()))
                            + "); declare a @Bean PoolSpec with that name or remove the entry",
                    "Rename pivot.pool.pools." + name + " to the name given to PoolSpec.of(...)"
                            + (specBeanByPool.isEmpty() ? "" : " (" + String.join(", ", specBeanByPool.keySet()) + ")")
                            + ", declare a PoolSpec bean named '" + name + "', or remove the entry.");
        }
        definitions.forEach(registry::registerBeanDefinition);
    }

    private static <T> RootBeanDefinition definition(ConfigurableListableBeanFactory beanFactory,
            String specBeanName, PoolSpec<T> spec, PoolSettings settings, @Nullable GlobalCapacity capacity) {
        ResolvableType objectType = beanFactory.getMergedBeanDefinition(specBeanName)
            .getResolvableType()
            .as(PoolSpec.class)
            .getGeneric(0);
        RootBeanDefinition definition = new RootBeanDefinition(Pool.class);
        if (objectType.resolve() != null) {
            definition.setTargetType(ResolvableType.forClassWithGenerics(Pool.class, objectType));
        }
        definition.setInstanceSupplier(() -> create(beanFactory, spec, settings, capacity));
        // The manager is destroyed after the pools: an instance leaves the cluster once its pools are gone.
        definition.setDependsOn(PivotPoolAutoConfiguration.MANAGER_BEAN_NAME);
        definition.setDestroyMethodName("close");
        definition.setResourceDescription("Pivot Pool of the PoolSpec bean '" + specBeanName + "'");
        return definition;
    }

    private static <T> Pool<T> create(ConfigurableListableBeanFactory beanFactory, PoolSpec<T> spec,
            PoolSettings settings, @Nullable GlobalCapacity capacity) {
        Pool<T> pool;
        if (capacity == null) {
            pool = Pool.create(spec, settings);
        }
        else {
            try {
                pool = beanFactory.getBean(PivotPoolAutoConfiguration.MANAGER_BEAN_NAME, DistributedPoolManager.class)
                    .createPool(spec, settings, capacity);
            }
            catch (IllegalArgumentException ex) {
                String prefix = "pivot.pool.pools." + spec.name() + ".";
                Overflow overflow = settings.overflow();
                String fix = (overflow == Overflow.ELASTIC || overflow == Overflow.FALLBACK)
                        ? "Set " + prefix + "overflow to wait or fail (it is " + overflow.name().toLowerCase(Locale.ROOT)
                                + "), or remove " + prefix + "global-max-size."
                        : "Set distributed.leader-election=true, or remove " + prefix + "global-max-size.";
                throw new InvalidPropertyException(prefix + "global-max-size", capacity.globalMaxSize(),
                        ex.getMessage(), fix);
            }
        }
        if (logger.isDebugEnabled()) {
            logger.debug("Created pool '" + spec.name() + "' with " + settings
                    + ((capacity != null) ? ", " + capacity : ""));
        }
        return pool;
    }
}
