package io.pivotpool.coordinator;

/**
 * How a coordination backend makes itself selectable by name. A backend module (or an extension author) contributes one provider; the
 * selection picks the one whose {@link #name()} equals {@code distributed.coordination}, calls
 * {@link #create(String)} and {@link Coordinator#connect() connects} the result, falling back to
 * {@link NoOpCoordinator} with one warning if any step fails.
 *
 * <p>In Spring Boot a provider is a bean contributed by the backend's own auto-configuration;
 * without Spring it is passed to {@code HighPerformanceMode.enable(...)}. A provider captures its
 * backend's own connection settings (host, credentials, ...); only the namespace is common to all
 * backends and is handed to {@link #create(String)}, so that it has one source of truth.
 */
public interface CoordinatorProvider {

    /** The name {@code distributed.coordination} selects this backend by: {@code redis}, {@code etcd}, ... */
    String name();

    /**
     * Creates a coordinator, not yet connected, whose every key lives under {@code namespace}.
     *
     * @throws RuntimeException if the backend cannot be set up; the message is logged in the
     *     fallback warning, so it must name the reason and never carry a secret
     */
    Coordinator create(String namespace);
}
