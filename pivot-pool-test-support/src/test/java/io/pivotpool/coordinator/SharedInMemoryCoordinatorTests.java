package io.pivotpool.coordinator;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import io.pivotpool.coordinator.support.DuplicateInstanceIds;
import io.pivotpool.testsupport.contract.MultiInstanceCoordinatorContract;

/**
 * Runs the multi-instance contract against one in-memory {@link NoOpCoordinator} per namespace,
 * shared by every coordinator of that namespace the way a server is shared. It proves that the
 * multi-instance suite holds for a correct shared backend, so a backend that fails it is wrong,
 * not the suite.
 */
class SharedInMemoryCoordinatorTests extends MultiInstanceCoordinatorContract {

    /** Entries expire to the millisecond here: half a second proves expiry as well as a second. */
    @Override
    protected Duration shortTtl() {
        return Duration.ofMillis(500);
    }

    private final Map<String, NoOpCoordinator> servers = new ConcurrentHashMap<>();

    @Override
    protected Coordinator createCoordinator(String namespace) {
        NoOpCoordinator server = this.servers.computeIfAbsent(namespace, name -> {
            NoOpCoordinator created = new NoOpCoordinator();
            created.connect();
            return created;
        });
        return client(server);
    }

    /**
     * A client of the shared server: connecting and closing it leave the server alone. A heartbeat
     * checks, as the real backends do, that the registration it renews is its own process's (same
     * start time), overwrites another's, and reports it through {@link DuplicateInstanceIds}; a
     * round heartbeats through this client too.
     */
    private static Coordinator client(NoOpCoordinator server) {
        AtomicBoolean connected = new AtomicBoolean();
        DuplicateInstanceIds duplicates = new DuplicateInstanceIds();
        AtomicReference<InstanceInfo> written = new AtomicReference<>();
        return (Coordinator) Proxy.newProxyInstance(Coordinator.class.getClassLoader(),
                new Class<?>[] { Coordinator.class }, (proxy, method, args) -> switch (method.getName()) {
                    case "register" -> {
                        server.register((InstanceInfo) args[0], (Duration) args[1]);
                        written.set((InstanceInfo) args[0]);
                        yield null;
                    }
                    case "heartbeat" -> {
                        InstanceInfo instance = (InstanceInfo) args[0];
                        Duration ttl = (Duration) args[1];
                        // Only a registration this client wrote as it is can have been overwritten.
                        long other = !instance.equals(written.get()) ? -1 : server.liveInstances().stream()
                            .filter(live -> live.id().equals(instance.id())
                                    && live.startedAtMillis() != instance.startedAtMillis())
                            .mapToLong(InstanceInfo::startedAtMillis)
                            .findFirst()
                            .orElse(-1);
                        server.heartbeat(instance, ttl);
                        written.set(instance);
                        duplicates.check("memory", instance, other, ttl.toMillis());
                        yield null;
                    }
                    case "round" -> InvocationHandler.invokeDefault(proxy, method, args);
                    case "requestCapacity" -> {
                        duplicates.requireNotHeld((String) args[1]);
                        yield forward(server, method, args);
                    }
                    case "connect" -> {
                        connected.set(true);
                        yield null;
                    }
                    case "close" -> {
                        connected.set(false);
                        yield null;
                    }
                    case "isConnected" -> connected.get();
                    case "toString" -> "client of " + server;
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> forward(server, method, args);
                });
    }

    /** Calls {@code method} on the server, throwing what it threw. */
    private static Object forward(NoOpCoordinator server, Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(server, args);
        }
        catch (InvocationTargetException ex) {
            throw ex.getCause();
        }
    }
}
