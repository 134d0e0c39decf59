package io.pivotpool.pool;

import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * What a pool holds and how its objects live: a name and a factory, plus optional validation,
 * reset and destruction. Sizing lives in {@link PoolSettings}, so that the same spec can be sized
 * by code, by a {@code HighPerformanceMode} profile or by Spring Boot properties.
 *
 * <pre>{@code
 * PoolSpec<Renderer> spec = PoolSpec.of("renderers", Renderer::new)
 *         .withValidate(Renderer::isHealthy)
 *         .withReset(Renderer::clear)
 *         .withDestroy(Renderer::close);
 * }</pre>
 *
 * @param <T> the pooled type
 */
public final class PoolSpec<T> {

    private static final Predicate<Object> ALWAYS_VALID = object -> true;

    private static final Consumer<Object> NOTHING = object -> {
    };

    private final String name;

    private final Supplier<? extends T> create;

    private final Predicate<? super T> validate;

    private final Consumer<? super T> reset;

    private final Consumer<? super T> destroy;

    private PoolSpec(String name, Supplier<? extends T> create, Predicate<? super T> validate,
            Consumer<? super T> reset, Consumer<? super T> destroy) {
        this.name = name;
        this.create = create;
        this.validate = validate;
        this.reset = reset;
        this.destroy = destroy;
    }

    /**
     * A spec for the pool called {@code name} whose objects come from {@code create}.
     *
     * @param name letters, digits, '-', '_' and '.', 1 to 64 characters: it becomes a metric tag
     *     and a URL path segment
     */
    public static <T> PoolSpec<T> of(String name, Supplier<? extends T> create) {
        Objects.requireNonNull(name, "name must not be null");
        Objects.requireNonNull(create, "create must not be null");
        if (!name.matches("[A-Za-z0-9._-]{1,64}")) {
            throw new IllegalArgumentException("Pool name '" + name
                    + "' is invalid: use 1 to 64 letters, digits, '.', '-' or '_'");
        }
        return new PoolSpec<>(name, create, ALWAYS_VALID, NOTHING, NOTHING);
    }

    /** Checks an idle object before it is handed out again; an object that fails is destroyed. */
    public PoolSpec<T> withValidate(Predicate<? super T> validate) {
        return new PoolSpec<>(this.name, this.create, Objects.requireNonNull(validate, "validate must not be null"),
                this.reset, this.destroy);
    }

    /** Recycles an object as it is returned; an object whose reset throws is destroyed. */
    public PoolSpec<T> withReset(Consumer<? super T> reset) {
        return new PoolSpec<>(this.name, this.create, this.validate,
                Objects.requireNonNull(reset, "reset must not be null"), this.destroy);
    }

    /** Releases an object's resources when the pool discards it; exceptions are logged. */
    public PoolSpec<T> withDestroy(Consumer<? super T> destroy) {
        return new PoolSpec<>(this.name, this.create, this.validate, this.reset,
                Objects.requireNonNull(destroy, "destroy must not be null"));
    }

    public String name() {
        return this.name;
    }

    Supplier<? extends T> create() {
        return this.create;
    }

    Predicate<? super T> validate() {
        return this.validate;
    }

    boolean validates() {
        return this.validate != ALWAYS_VALID;
    }

    Consumer<? super T> reset() {
        return this.reset;
    }

    boolean resets() {
        return this.reset != NOTHING;
    }

    Consumer<? super T> destroy() {
        return this.destroy;
    }

    @Override
    public String toString() {
        return "PoolSpec[" + this.name + "]";
    }
}
