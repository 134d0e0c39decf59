package io.pivotpool.distributed.internal;

import java.util.Objects;

import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.distributed.DistributedPoolManager;
import io.pivotpool.distributed.DistributedSettings;

import org.jspecify.annotations.Nullable;

/**
 * Builds a {@link DistributedPoolManager} over the outcome of a {@link CoordinatorSelection}, for
 * Pivot Pool's own modules (the Spring Boot auto-configuration, {@code HighPerformanceMode}, the
 * test kit). The manager needs the whole outcome, not only the coordinator: the backend that was
 * asked for and why it fell back are in its status, and a fallback changes how its capped pools
 * start. Applications build a manager over a plain {@code Coordinator} with its public
 * constructor instead, which selects it as {@link CoordinatorSelection#use} does.
 *
 * <p>The manager's constructor that takes an {@link ActiveCoordinator} is package-private, so that
 * no internal type appears in the manager's public API; the manager hands it to this class once,
 * when its class is initialized ({@link #install}), which is how the JDK shares its own internals
 * across packages.
 *
 * @apiNote Internal: public only because those modules live in other packages. It is not an API
 *     and may change in any release.
 */
public final class Managers {

    /** The manager's package-private constructor, as the manager installs it. */
    @FunctionalInterface
    public interface Constructor {

        DistributedPoolManager create(ActiveCoordinator coordinator, DistributedSettings settings, InstanceInfo self);
    }

    private static volatile @Nullable Constructor constructor;

    private Managers() {
    }

    /**
     * Creates a manager over a selected coordinator (connected, or connected by its rounds once it
     * answers); {@link DistributedPoolManager#start()} begins the synchronisation.
     */
    public static DistributedPoolManager create(ActiveCoordinator coordinator, DistributedSettings settings,
            InstanceInfo self) {
        return constructor().create(coordinator, settings, self);
    }

    /**
     * Called once, by {@link DistributedPoolManager}'s static initializer.
     *
     * @throws IllegalStateException if a constructor was installed already
     */
    public static synchronized void install(Constructor managerConstructor) {
        Objects.requireNonNull(managerConstructor, "managerConstructor must not be null");
        if (constructor != null) {
            throw new IllegalStateException("the manager's constructor is installed already");
        }
        constructor = managerConstructor;
    }

    private static Constructor constructor() {
        Constructor installed = constructor;
        if (installed != null) {
            return installed;
        }
        // Naming the class does not initialize it; loading it with initialization runs the static
        // initializer that installs the constructor.
        try {
            Class.forName(DistributedPoolManager.class.getName(), true, DistributedPoolManager.class.getClassLoader());
        }
        catch (ClassNotFoundException ex) {
            throw new IllegalStateException("DistributedPoolManager cannot be loaded", ex);
        }
        installed = constructor;
        if (installed == null) {
            throw new IllegalStateException("DistributedPoolManager did not install its constructor");
        }
        return installed;
    }
}
