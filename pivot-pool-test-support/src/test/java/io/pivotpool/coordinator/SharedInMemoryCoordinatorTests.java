package io.pivotpool.coordinator;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs the multi-instance contract against one in-memory {@link NoOpCoordinator} per namespace,
 * shared by every coordinator of that namespace the way a server is shared. It proves that the
 * multi-instance suite holds for a correct shared backend, so a backend that fails it is wrong,
 * not the suite.
 */
class SharedInMemoryCoordinatorTests extends MultiInstanceCoordinatorContract {

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

    /** A client of the shared server: connecting and closing it leave the server alone. */
    private static Coordinator client(NoOpCoordinator server) {
        AtomicBoolean connected = new AtomicBoolean();
        return (Coordinator) Proxy.newProxyInstance(Coordinator.class.getClassLoader(),
                new Class<?>[] { Coordinator.class }, (proxy, method, args) -> switch (method.getName()) {
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
                    default -> {
                        try {
                            yield method.invoke(server, args);
                        }
                        catch (InvocationTargetException ex) {
                            throw ex.getCause();
                        }
                    }
                });
    }
}
