package io.pivotpool.autoconfigure;

import org.jspecify.annotations.Nullable;
import org.springframework.aot.hint.RuntimeHints;
import org.springframework.aot.hint.RuntimeHintsRegistrar;
import org.springframework.aot.hint.TypeReference;

/**
 * What a native image needs that Spring cannot find on its own: the pool engine's lock-free fields,
 * which the engine reaches through {@code VarHandle}s looked up by name
 * ({@code MethodHandles.Lookup#findVarHandle}), a reflective lookup. Everything else the starter
 * uses is found by Spring's AOT processing: configuration properties, the endpoint's responses,
 * the auto-configurations; the Redis scripts are strings in code, and nothing is read from
 * resources at run time.
 */
class PivotPoolRuntimeHints implements RuntimeHintsRegistrar {

    @Override
    public void registerHints(RuntimeHints hints, @Nullable ClassLoader classLoader) {
        hints.reflection()
            .registerType(TypeReference.of("io.pivotpool.pool.PoolEngine"),
                    (type) -> type.withField("counts").withField("attention"))
            .registerType(TypeReference.of("io.pivotpool.pool.SlotHotFields"),
                    (type) -> type.withField("state").withField("borrows"))
            .registerType(TypeReference.of("io.pivotpool.pool.Waiter"), (type) -> type.withField("state"));
    }
}
