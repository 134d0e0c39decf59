package io.pivotpool.autoconfigure;

import java.beans.PropertyDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import io.pivotpool.coordinator.CoordinatorProvider;

import org.jspecify.annotations.Nullable;
import org.springframework.beans.BeanUtils;
import org.springframework.beans.factory.BeanFactoryInitializer;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.context.properties.bind.DataObjectPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName.Form;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.IterableConfigurationPropertySource;
import org.springframework.core.ResolvableType;
import org.springframework.core.env.Environment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

/**
 * Finds keys under {@code pivot.pool.*} and {@code distributed.*} that no property of
 * {@link PivotPoolProperties} or {@link DistributedProperties} reads: a misspelled
 * {@code max-szie} would otherwise leave the limit a user meant to set at its default, silently.
 * An unknown {@code pivot.pool.*} key stops start-up; an unknown {@code distributed.*} key logs a
 * warning, since other libraries may share that older, shorter prefix. Either way the nearest
 * valid key is named. A map or list where one value is expected (an unquoted
 * {@code namespace: {orders}} is a map in YAML) stops start-up under both prefixes.
 *
 * <p>The known keys are read from the properties classes themselves, so they cannot drift from
 * what is bound. Keys under a backend's prefix ({@code distributed.<backend name>.*}, or one it
 * declares with {@link BackendPropertyPrefix}) belong to that backend and are left alone. The
 * system environment is not checked: its names ({@code PIVOT_POOL_POOLS_A_B_MAX_SIZE}) cannot
 * say which underscores were dashes, and other software's variables share the prefixes.
 */
final class PropertyKeyCheck implements BeanFactoryInitializer<ConfigurableListableBeanFactory> {

    private static final Log logger = LogFactory.getLog(PropertyKeyCheck.class);

    private static final ConfigurationPropertyName POOL_ROOT = ConfigurationPropertyName.of("pivot.pool");

    private static final ConfigurationPropertyName DISTRIBUTED_ROOT = ConfigurationPropertyName.of("distributed");

    private static final KeyTree POOL_KEYS = KeyTree.of(PivotPoolProperties.class);

    private static final KeyTree DISTRIBUTED_KEYS = KeyTree.of(DistributedProperties.class);

    private final Environment environment;

    PropertyKeyCheck(Environment environment) {
        this.environment = environment;
    }

    /**
     * Runs before the singletons are created (as {@link PoolBeanRegistrar} does, and for the same
     * reason), so that a typo stops start-up before any pool or connection exists.
     */
    @Override
    public void initialize(ConfigurableListableBeanFactory beanFactory) {
        List<String> owned = new ArrayList<>();
        beanFactory.getBeanProvider(CoordinatorProvider.class)
            .orderedStream()
            .forEach((provider) -> owned.add("distributed." + provider.name()));
        beanFactory.getBeanProvider(BackendPropertyPrefix.class)
            .orderedStream()
            .forEach((declared) -> owned.add(declared.prefix()));
        check(this.environment, owned);
    }

    /**
     * Checks every key set in {@code environment} under the two prefixes.
     *
     * @param ownedPrefixes prefixes whose keys belong to backend modules
     * @throws UnknownPropertyException for unknown {@code pivot.pool.*} keys or a map given for a
     *     value
     */
    static void check(Environment environment, Collection<String> ownedPrefixes) {
        List<ConfigurationPropertyName> owned = ownedPrefixes.stream()
            .map(ConfigurationPropertyName::ofIfValid)
            .filter((name) -> name != null)
            .toList();
        List<Problem> failures = new ArrayList<>();
        for (Map.Entry<ConfigurationPropertyName, ConfigurationProperty> entry : keys(environment).entrySet()) {
            ConfigurationPropertyName name = entry.getKey();
            if (owned.stream().anyMatch((prefix) -> prefix.equals(name) || prefix.isAncestorOf(name))) {
                continue;
            }
            boolean pool = POOL_ROOT.isAncestorOf(name);
            Problem problem = (pool ? POOL_KEYS : DISTRIBUTED_KEYS).check(pool ? POOL_ROOT : DISTRIBUTED_ROOT, name,
                    origin(entry.getValue()));
            if (problem == null) {
                continue;
            }
            if (pool || problem.kind() == Problem.Kind.STRUCTURE_FOR_VALUE) {
                failures.add(problem);
            }
            else {
                logger.warn(problem.describe() + ". " + problem.fix());
            }
        }
        if (!failures.isEmpty()) {
            throw new UnknownPropertyException(failures);
        }
    }

    /** Every key under the two prefixes, once, with its first (winning) property. */
    private static Map<ConfigurationPropertyName, ConfigurationProperty> keys(Environment environment) {
        Map<ConfigurationPropertyName, ConfigurationProperty> keys = new LinkedHashMap<>();
        for (ConfigurationPropertySource source : ConfigurationPropertySources.get(environment)) {
            if (source.getUnderlyingSource() instanceof SystemEnvironmentPropertySource
                    || !(source instanceof IterableConfigurationPropertySource iterable)) {
                continue;
            }
            iterable.stream()
                .filter((name) -> POOL_ROOT.isAncestorOf(name) || DISTRIBUTED_ROOT.isAncestorOf(name))
                .forEach((name) -> keys.computeIfAbsent(name, source::getConfigurationProperty));
        }
        return keys;
    }

    private static String origin(ConfigurationProperty property) {
        return (property != null && property.getOrigin() != null) ? " (from " + property.getOrigin() + ")" : "";
    }

    /**
     * A key that nothing reads.
     *
     * @param key the key as written, in canonical form
     * @param origin where it was set, or an empty string
     * @param kind what is wrong
     * @param suggestion the nearest valid key, or (for a map given to a value) the value's key
     */
    record Problem(String key, String origin, Kind kind, @Nullable String suggestion) {

        enum Kind {

            /** No property has that name. */
            UNKNOWN,

            /** The key lies below a property that takes one value: a map or list was given. */
            STRUCTURE_FOR_VALUE
        }

        String describe() {
            return switch (this.kind) {
                case UNKNOWN -> "unknown key " + this.key + this.origin + "; did you mean " + this.suggestion + "?";
                case STRUCTURE_FOR_VALUE -> this.suggestion + " takes one value but was given a map or list ("
                        + this.key + this.origin + "); YAML reads an unquoted {...} as a map and [...] as a list";
            };
        }

        String fix() {
            return switch (this.kind) {
                case UNKNOWN -> (this.suggestion != null)
                        ? "Rename " + this.key + " to " + this.suggestion + ", or remove it."
                        : "Remove " + this.key + " (no valid key is near it).";
                case STRUCTURE_FOR_VALUE -> {
                    String path = Objects.requireNonNull(this.suggestion, "a structure's problem names its path");
                    yield "Write " + path + " as one quoted value (for example " + lastElement(path)
                            + ": \"orders\").";
                }
            };
        }

        private static String lastElement(String key) {
            return key.substring(key.lastIndexOf('.') + 1);
        }
    }

    /** The keys one properties class binds, read from its JavaBean properties. */
    private static final class KeyTree {

        /** A map's keys are the user's own names, such as the pools'. */
        private static final String ANY = "*";

        /** Child nodes by the uniform form of their name (lower case, no dashes), or {@link #ANY}. */
        private final Map<String, KeyTree> children = new LinkedHashMap<>();

        /** The name in canonical (dashed) form; {@code null} for the root. */
        private final @Nullable String name;

        /** Whether this node takes a value rather than nested keys. */
        private final boolean value;

        private KeyTree(@Nullable String name, boolean value) {
            this.name = name;
            this.value = value;
        }

        static KeyTree of(Class<?> type) {
            KeyTree root = new KeyTree(null, false);
            root.addProperties(type);
            return root;
        }

        private void addProperties(Class<?> type) {
            for (PropertyDescriptor descriptor : BeanUtils.getPropertyDescriptors(type)) {
                if (descriptor.getReadMethod() == null || "class".equals(descriptor.getName())) {
                    continue;
                }
                String dashed = DataObjectPropertyName.toDashedForm(descriptor.getName());
                ResolvableType propertyType = ResolvableType.forMethodReturnType(descriptor.getReadMethod());
                this.children.put(uniform(dashed), node(dashed, propertyType));
            }
        }

        private static KeyTree node(String name, ResolvableType type) {
            Class<?> resolved = type.resolve(Object.class);
            if (Map.class.isAssignableFrom(resolved)) {
                KeyTree map = new KeyTree(name, false);
                map.children.put(ANY, node(ANY, type.asMap().getGeneric(1)));
                return map;
            }
            if (isGroup(resolved)) {
                KeyTree group = new KeyTree(name, false);
                group.addProperties(resolved);
                return group;
            }
            return new KeyTree(name, true);
        }

        /** A nested properties class of ours, as opposed to a value (enum, duration, number, text). */
        private static boolean isGroup(Class<?> type) {
            return type.getName().startsWith("io.pivotpool.") && !type.isEnum() && !type.isRecord()
                    && type.getEnclosingClass() != null;
        }

        /** A problem with {@code key}, or {@code null} if a property reads it. */
        @Nullable Problem check(ConfigurationPropertyName root, ConfigurationPropertyName key, String origin) {
            List<String> elements = new ArrayList<>();
            for (int i = root.getNumberOfElements(); i < key.getNumberOfElements(); i++) {
                elements.add(key.getElement(i, Form.UNIFORM));
            }
            KeyTree node = this;
            StringBuilder path = new StringBuilder(root.toString());
            for (int i = 0; i < elements.size(); i++) {
                if (node.value) {
                    return new Problem(key.toString(), origin, Problem.Kind.STRUCTURE_FOR_VALUE, path.toString());
                }
                KeyTree next = node.children.get(elements.get(i));
                String written = key.getElement(root.getNumberOfElements() + i, Form.DASHED);
                if (next == null) {
                    next = node.children.get(ANY);
                }
                if (next == null) {
                    return new Problem(key.toString(), origin, Problem.Kind.UNKNOWN, nearest(root, key));
                }
                path.append('.').append(ANY.equals(next.name) ? written : next.name);
                node = next;
            }
            return node.value ? null
                    : new Problem(key.toString(), origin, Problem.Kind.UNKNOWN, nearest(root, key));
        }

        /** The valid key (or group of keys) nearest to {@code key}, the user's map keys kept. */
        private @Nullable String nearest(ConfigurationPropertyName root, ConfigurationPropertyName key) {
            List<String> written = new ArrayList<>();
            for (int i = root.getNumberOfElements(); i < key.getNumberOfElements(); i++) {
                written.add(key.getElement(i, Form.DASHED));
            }
            Set<String> candidates = new LinkedHashSet<>();
            collect(root.toString(), written, 0, candidates);
            String target = key.toString();
            @Nullable String best = null;
            int bestDistance = Integer.MAX_VALUE;
            for (String candidate : candidates) {
                if (candidate.equals(target)) {
                    continue;
                }
                int distance = distance(target, candidate);
                if (distance < bestDistance) {
                    best = candidate;
                    bestDistance = distance;
                }
            }
            return best;
        }

        private void collect(String path, List<String> written, int depth, Set<String> candidates) {
            for (KeyTree child : this.children.values()) {
                String element = ANY.equals(child.name)
                        ? ((depth < written.size()) ? written.get(depth) : "<name>") : child.name;
                String childPath = path + "." + element;
                candidates.add(childPath);
                child.collect(childPath, written, depth + 1, candidates);
            }
        }

        private static String uniform(String dashed) {
            return dashed.replace("-", "").toLowerCase(Locale.ROOT);
        }

        /** Levenshtein distance. */
        private static int distance(String a, String b) {
            int[] previous = new int[b.length() + 1];
            int[] current = new int[b.length() + 1];
            for (int j = 0; j <= b.length(); j++) {
                previous[j] = j;
            }
            for (int i = 1; i <= a.length(); i++) {
                current[0] = i;
                for (int j = 1; j <= b.length(); j++) {
                    int substitution = previous[j - 1] + ((a.charAt(i - 1) == b.charAt(j - 1)) ? 0 : 1);
                    current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
                }
                int[] swap = previous;
                previous = current;
                current = swap;
            }
            return previous[b.length()];
        }
    }
}
