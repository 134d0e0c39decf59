package io.pivotpool.redis;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import io.lettuce.core.resource.DefaultClientResources;
import io.pivotpool.coordinator.CapacityGrant;
import io.pivotpool.coordinator.CapacityView;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorArguments;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.LeaderLease;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.data.redis.connection.RedisConnection;
import org.springframework.data.redis.connection.RedisPassword;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.SetCondition;
import org.springframework.data.redis.connection.lettuce.LettuceClientConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.RedisCallback;
import org.springframework.data.redis.core.RedisTemplate;
import org.springframework.data.redis.core.script.RedisScript;
import org.springframework.data.redis.core.types.Expiration;
import org.springframework.data.redis.serializer.RedisSerializer;

/**
 * A {@link Coordinator} on Redis, through Spring Data Redis and Lettuce.
 *
 * <p>Every operation that reads and then writes is one Lua script (see {@link RedisScripts}), so
 * it is atomic on the server; every expiry is measured by the server's clock ({@code PX} TTLs and
 * {@code TIME} inside scripts), never by the instances'. All keys live under
 * {@code {namespace}:} (see {@link RedisKeys}); values are the caller's bytes or flat hash fields,
 * never Java serialization. A key holding something this coordinator did not write is skipped
 * (reads) or rebuilt (the coordinator's own bookkeeping keys) with one warning per key.
 *
 * <p>Operations run on the connection factory's shared connection, bounded by its command timeout;
 * blocking pops run on connections of their own (see {@link BlockingPops}). A failure surfaces as
 * a {@link CoordinatorException} naming Redis, the endpoint and the namespace, never a password.
 * Lettuce reconnects on its own after Redis went away, so the next call after Redis returns
 * succeeds on the same coordinator.
 *
 * <p>Create one with {@link #create(RedisCoordinatorSettings)} (it owns its connection) or
 * {@link #create(LettuceConnectionFactory, String)} (it borrows the application's).
 */
public final class RedisCoordinator implements Coordinator {

    /** The name {@code distributed.coordination} selects this backend by. */
    public static final String NAME = "redis";

    private static final Logger logger = LoggerFactory.getLogger(RedisCoordinator.class);

    /** More distinct garbage keys than this are reported at debug level only. */
    private static final int MAX_REPORTED_GARBAGE_KEYS = 1024;

    private static final byte[] NO_BYTES = new byte[0];

    private final LettuceConnectionFactory connectionFactory;

    private final ClientResources ownedResources;

    private final RedisTemplate<String, byte[]> template;

    private final BlockingPops blockingPops;

    private final RedisKeys keys;

    private final String endpoint;

    private final String secret;

    private final Set<String> reportedGarbage = ConcurrentHashMap.newKeySet();

    private volatile boolean connected;

    private final AtomicBoolean closed = new AtomicBoolean();

    private RedisCoordinator(LettuceConnectionFactory connectionFactory, ClientResources ownedResources,
            String namespace, String secret) {
        this.connectionFactory = connectionFactory;
        this.ownedResources = ownedResources;
        this.keys = new RedisKeys(namespace);
        this.secret = secret;
        this.endpoint = connectionFactory.getHostName() + ":" + connectionFactory.getPort();
        this.template = new RedisTemplate<>();
        this.template.setConnectionFactory(connectionFactory);
        this.template.setEnableDefaultSerializer(false);
        this.template.setKeySerializer(RedisSerializer.string());
        this.template.setValueSerializer(RedisSerializer.byteArray());
        this.template.setHashKeySerializer(RedisSerializer.byteArray());
        this.template.setHashValueSerializer(RedisSerializer.byteArray());
        this.template.afterPropertiesSet();
        this.blockingPops = new BlockingPops(connectionFactory.getRequiredNativeClient(),
                Duration.ofMillis(connectionFactory.getTimeout()));
    }

    /**
     * A coordinator with a connection of its own to the server the settings name. Nothing is
     * contacted before {@link #connect()}; {@link #close()} closes the connection.
     *
     * <p>Every operation waits at most {@link RedisCoordinatorSettings#timeout()}, and commands
     * are rejected at once rather than queued while Lettuce reconnects after a lost connection.
     */
    public static RedisCoordinator create(RedisCoordinatorSettings settings) {
        Objects.requireNonNull(settings, "settings must not be null");
        RedisStandaloneConfiguration server = new RedisStandaloneConfiguration(settings.host(), settings.port());
        server.setDatabase(settings.database());
        server.setUsername(settings.username());
        server.setPassword(RedisPassword.of(settings.password()));
        // Reconnect within a second of Redis coming back, rather than after Lettuce's default 30 s back-off.
        ClientResources resources = DefaultClientResources.builder()
            .ioThreadPoolSize(2)
            .computationThreadPoolSize(2)
            .reconnectDelay(Delay.exponential(Duration.ofMillis(10), Duration.ofSeconds(1), 2, TimeUnit.MILLISECONDS))
            .build();
        LettuceClientConfiguration.LettuceClientConfigurationBuilder client = LettuceClientConfiguration.builder()
            .clientResources(resources)
            .clientName("pivot-pool")
            .commandTimeout(settings.timeout())
            .shutdownTimeout(Duration.ZERO)
            .clientOptions(ClientOptions.builder()
                .autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .socketOptions(SocketOptions.builder().connectTimeout(settings.timeout()).keepAlive(true).build())
                .timeoutOptions(TimeoutOptions.enabled())
                .build());
        if (settings.ssl()) {
            client.useSsl();
        }
        LettuceConnectionFactory factory = new LettuceConnectionFactory(server, client.build());
        try {
            factory.afterPropertiesSet();
            return new RedisCoordinator(factory, resources, settings.namespace(), settings.password());
        }
        catch (RuntimeException ex) {
            factory.destroy();
            resources.shutdown(0, 0, TimeUnit.MILLISECONDS);
            throw ex;
        }
    }

    /**
     * A coordinator on an existing, started connection factory (the application's, for instance),
     * which it neither configures nor closes. Operations wait at most the factory's command
     * timeout, and blocking pops open connections of their own through the factory's client.
     */
    public static RedisCoordinator create(LettuceConnectionFactory connectionFactory, String namespace) {
        Objects.requireNonNull(connectionFactory, "connectionFactory must not be null");
        return new RedisCoordinator(connectionFactory, null, namespace,
                connectionFactory.getPassword());
    }

    // ---- lifecycle -------------------------------------------------------------------------

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void connect() {
        execute("connect", connection -> connection.ping());
    }

    @Override
    public boolean isConnected() {
        return this.connected && !this.closed.get();
    }

    /** Closes the connections this coordinator opened; blocked pops return empty. Idempotent. */
    @Override
    public void close() {
        if (!this.closed.compareAndSet(false, true)) {
            return;
        }
        this.blockingPops.close();
        if (this.ownedResources != null) {
            this.connectionFactory.destroy();
            this.ownedResources.shutdown(0, 0, TimeUnit.MILLISECONDS);
        }
    }

    // ---- membership ------------------------------------------------------------------------

    @Override
    public void register(InstanceInfo instance, Duration ttl) {
        register("register", instance, ttl);
    }

    @Override
    public void heartbeat(InstanceInfo instance, Duration ttl) {
        // Writing the registration again renews it, and brings it back if it had expired.
        register("send a heartbeat", instance, ttl);
    }

    private void register(String operation, InstanceInfo instance, Duration ttl) {
        Objects.requireNonNull(instance, "instance must not be null");
        long ttlMillis = ttlMillis(ttl);
        Map<String, String> fields = instance.toFields();
        List<byte[]> args = new ArrayList<>(2 + fields.size() * 2);
        args.add(bytes(instance.id()));
        args.add(bytes(Long.toString(ttlMillis)));
        fields.forEach((field, value) -> {
            args.add(bytes(field));
            args.add(bytes(value));
        });
        List<?> result = script(operation, RedisScripts.REGISTER,
                List.of(this.keys.members(), this.keys.member(instance.id())), args.toArray(byte[][]::new));
        String garbage = text(result.get(0));
        if (!garbage.isEmpty()) {
            reportGarbage(this.keys.members(), garbage + ", not a sorted set of members; it was rebuilt");
        }
    }

    @Override
    public void unregister(String instanceId) {
        Objects.requireNonNull(instanceId, "instanceId must not be null");
        script("unregister", RedisScripts.UNREGISTER, List.of(this.keys.members(), this.keys.member(instanceId)),
                bytes(instanceId));
    }

    @Override
    public List<InstanceInfo> liveInstances() {
        List<?> entries = script("list live instances", RedisScripts.LIVE_INSTANCES, List.of(this.keys.members()),
                bytes(this.keys.memberPrefix()));
        List<InstanceInfo> live = new ArrayList<>(entries.size());
        for (Object entry : entries) {
            List<?> parts = (List<?>) entry;
            String id = text(parts.get(0));
            String kind = text(parts.get(1));
            if (id.isEmpty()) {
                reportGarbage(this.keys.members(), "a " + kind + ", not a sorted set of members");
                continue;
            }
            String key = this.keys.member(id);
            if (!"hash".equals(kind)) {
                reportGarbage(key, "a " + kind + ", not an instance hash");
                continue;
            }
            Map<String, String> fields = new LinkedHashMap<>();
            for (int i = 2; i + 1 < parts.size(); i += 2) {
                fields.put(text(parts.get(i)), text(parts.get(i + 1)));
            }
            try {
                InstanceInfo instance = InstanceInfo.fromFields(fields);
                if (!instance.id().equals(id)) {
                    throw new IllegalArgumentException("its id field '" + instance.id() + "' differs from its key");
                }
                live.add(instance);
            }
            catch (IllegalArgumentException ex) {
                reportGarbage(key, "a hash that is not an instance (" + ex.getMessage() + ")");
            }
        }
        live.sort(Comparator.comparing(InstanceInfo::id));
        return List.copyOf(live);
    }

    // ---- leadership ------------------------------------------------------------------------

    @Override
    public Optional<LeaderLease> tryAcquireLeadership(String instanceId, Duration ttl) {
        Objects.requireNonNull(instanceId, "instanceId must not be null");
        long ttlMillis = ttlMillis(ttl);
        List<?> result = script("acquire leadership", RedisScripts.ACQUIRE_LEADERSHIP,
                List.of(this.keys.leader(), this.keys.term()), bytes(instanceId), bytes(Long.toString(ttlMillis)));
        String garbageKey = text(result.get(4));
        if (!garbageKey.isEmpty()) {
            reportGarbage(garbageKey, text(result.get(5)) + ", not leadership bookkeeping; a new term was started");
        }
        if (((Long) result.get(0)) == 0L) {
            return Optional.empty();
        }
        return Optional.of(lease(result.get(1), result.get(2), result.get(3)));
    }

    @Override
    public boolean releaseLeadership(String instanceId, long fencingToken) {
        Objects.requireNonNull(instanceId, "instanceId must not be null");
        Long released = script("release leadership", RedisScripts.RELEASE_LEADERSHIP, List.of(this.keys.leader()),
                bytes(instanceId), bytes(Long.toString(fencingToken)));
        return released == 1L;
    }

    @Override
    public Optional<LeaderLease> currentLeader() {
        List<?> result = script("read the leader", RedisScripts.CURRENT_LEADER, List.of(this.keys.leader()));
        if (result.isEmpty()) {
            return Optional.empty();
        }
        if (result.size() == 1) {
            reportGarbage(this.keys.leader(), text(result.get(0)) + ", not a leader lease");
            return Optional.empty();
        }
        return Optional.of(lease(result.get(0), result.get(1), result.get(2)));
    }

    private static LeaderLease lease(Object holder, Object token, Object ttl) {
        return new LeaderLease(text(holder), Long.parseLong(text(token)), parseLongOr(text(ttl), 0));
    }

    // ---- queues ----------------------------------------------------------------------------

    @Override
    public void push(String queue, byte[] message) {
        Objects.requireNonNull(queue, "queue must not be null");
        Objects.requireNonNull(message, "message must not be null");
        String key = this.keys.queue(queue);
        try {
            execute("push to queue '" + queue + "'", connection -> connection.listCommands().lPush(bytes(key), message));
        }
        catch (CoordinatorException ex) {
            if (isWrongType(ex)) {
                // Pushing would mean destroying whatever is there: refuse instead.
                throw new CoordinatorException(describe("push to queue '" + queue + "'")
                        + ": key '" + key + "' holds a value that is not a queue");
            }
            throw ex;
        }
    }

    @Override
    public Optional<byte[]> pop(String queue) {
        Objects.requireNonNull(queue, "queue must not be null");
        String key = this.keys.queue(queue);
        try {
            return Optional.ofNullable(execute("pop from queue '" + queue + "'",
                    connection -> connection.listCommands().rPop(bytes(key))));
        }
        catch (CoordinatorException ex) {
            if (isWrongType(ex)) {
                reportGarbage(key, "a value that is not a queue");
                return Optional.empty();
            }
            throw ex;
        }
    }

    @Override
    public Optional<byte[]> pop(String queue, Duration timeout) {
        Objects.requireNonNull(queue, "queue must not be null");
        CoordinatorArguments.requireWaitTimeout(timeout);
        Optional<byte[]> message = pop(queue);
        if (message.isPresent() || timeout.isZero()) {
            return message;
        }
        String key = this.keys.queue(queue);
        String operation = "pop from queue '" + queue + "' with a wait";
        ensureOpen(operation);
        try {
            message = this.blockingPops.pop(bytes(key), timeout);
            this.connected = true;
            return message;
        }
        catch (InterruptedException ex) {
            // Nothing was taken (the connection is dropped with its pending BRPOP): keep the flag.
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
        catch (ExecutionException ex) {
            if (rootMessage(ex).startsWith("WRONGTYPE")) {
                this.connected = true;
                reportGarbage(key, "a value that is not a queue");
                return Optional.empty();
            }
            throw failed(operation, ex.getCause());
        }
        catch (TimeoutException | RuntimeException ex) {
            if (this.closed.get()) {
                return Optional.empty();
            }
            throw failed(operation, ex);
        }
    }

    // ---- shared state ----------------------------------------------------------------------

    @Override
    public void set(String key, byte[] value, Duration ttl) {
        Objects.requireNonNull(key, "key must not be null");
        Objects.requireNonNull(value, "value must not be null");
        Expiration expiration = (ttl != null) ? Expiration.milliseconds(ttlMillis(ttl)) : Expiration.persistent();
        String stateKey = this.keys.state(key);
        execute("set '" + key + "'",
                connection -> connection.stringCommands().set(bytes(stateKey), value, SetCondition.upsert(), expiration));
    }

    @Override
    public Optional<byte[]> get(String key) {
        Objects.requireNonNull(key, "key must not be null");
        String stateKey = this.keys.state(key);
        try {
            return Optional.ofNullable(
                    execute("get '" + key + "'", connection -> connection.stringCommands().get(bytes(stateKey))));
        }
        catch (CoordinatorException ex) {
            if (isWrongType(ex)) {
                reportGarbage(stateKey, "a value that is not a string");
                return Optional.empty();
            }
            throw ex;
        }
    }

    @Override
    public boolean delete(String key) {
        Objects.requireNonNull(key, "key must not be null");
        String stateKey = this.keys.state(key);
        Long deleted = execute("delete '" + key + "'", connection -> connection.keyCommands().del(bytes(stateKey)));
        return deleted != null && deleted > 0;
    }

    @Override
    public boolean compareAndSet(String key, byte[] expected, byte[] newValue, Duration ttl) {
        Objects.requireNonNull(key, "key must not be null");
        long ttlMillis = (ttl != null) ? ttlMillis(ttl) : 0;
        String stateKey = this.keys.state(key);
        Long outcome = script("compare and set '" + key + "'", RedisScripts.COMPARE_AND_SET, List.of(stateKey),
                bytes((expected != null) ? "1" : "0"), (expected != null) ? expected : NO_BYTES,
                bytes((newValue != null) ? "1" : "0"), (newValue != null) ? newValue : NO_BYTES,
                bytes(Long.toString(ttlMillis)));
        if (outcome == -1L) {
            reportGarbage(stateKey, "a value that is not a string");
            return false;
        }
        return outcome == 1L;
    }

    // ---- capacity --------------------------------------------------------------------------

    @Override
    public CapacityGrant requestCapacity(String pool, String instanceId, int requested, int globalMaxSize,
            Duration ttl) {
        CoordinatorArguments.requireCapacityRequest(pool, instanceId, requested, globalMaxSize);
        long ttlMillis = ttlMillis(ttl);
        String key = this.keys.capacity(pool);
        List<?> result = script("request capacity of pool '" + pool + "'", RedisScripts.REQUEST_CAPACITY, List.of(key),
                bytes(instanceId), bytes(Integer.toString(requested)), bytes(Integer.toString(globalMaxSize)),
                bytes(Long.toString(ttlMillis)));
        reportCapacityGarbage(key, (List<?>) result.get(2));
        return new CapacityGrant(pool, instanceId, ((Long) result.get(0)).intValue(), ((Long) result.get(1)).intValue(),
                globalMaxSize);
    }

    @Override
    public void releaseCapacity(String pool, String instanceId) {
        Objects.requireNonNull(pool, "pool must not be null");
        Objects.requireNonNull(instanceId, "instanceId must not be null");
        String key = this.keys.capacity(pool);
        try {
            execute("release capacity of pool '" + pool + "'",
                    connection -> connection.hashCommands().hDel(bytes(key), bytes(instanceId)));
        }
        catch (CoordinatorException ex) {
            if (!isWrongType(ex)) {
                throw ex;
            }
            reportGarbage(key, "a value that is not a hash of grants");
        }
    }

    @Override
    public CapacityView capacity(String pool) {
        Objects.requireNonNull(pool, "pool must not be null");
        String key = this.keys.capacity(pool);
        List<?> result = script("read capacity of pool '" + pool + "'", RedisScripts.CAPACITY, List.of(key));
        List<?> pairs = (List<?>) result.get(0);
        reportCapacityGarbage(key, (List<?>) result.get(1));
        Map<String, Integer> grants = new LinkedHashMap<>();
        int total = 0;
        for (int i = 0; i + 1 < pairs.size(); i += 2) {
            int granted = ((Long) pairs.get(i + 1)).intValue();
            grants.put(text(pairs.get(i)), granted);
            total += granted;
        }
        return new CapacityView(pool, grants, total);
    }

    private void reportCapacityGarbage(String key, List<?> garbage) {
        for (Object entry : garbage) {
            String what = text(entry);
            if (what.startsWith("*")) {
                reportGarbage(key, "a " + what.substring(1) + ", not a hash of grants; it was dropped");
            }
            else {
                reportGarbage(key + " field " + what, "a grant that is not 'granted:expiresAt'; it was dropped");
            }
        }
    }

    // ---- plumbing --------------------------------------------------------------------------

    @Override
    public String toString() {
        return "RedisCoordinator[" + this.endpoint + ", namespace " + this.keys + "]";
    }

    /** Runs a script, loading it if the server does not know it (after a restart, for instance). */
    @SuppressWarnings("unchecked")
    private <T> T script(String operation, RedisScript<T> script, List<String> keys, byte[]... args) {
        ensureOpen(operation);
        try {
            T result = this.template.execute(script, RedisSerializer.byteArray(),
                    (RedisSerializer<T>) RedisSerializer.byteArray(), keys, (Object[]) args);
            this.connected = true;
            return result;
        }
        catch (RuntimeException ex) {
            throw failed(operation, ex);
        }
    }

    private <T> T execute(String operation, RedisCallback<T> action) {
        ensureOpen(operation);
        try {
            T result = this.template.execute(action);
            this.connected = true;
            return result;
        }
        catch (RuntimeException ex) {
            throw failed(operation, ex);
        }
    }

    private void ensureOpen(String operation) {
        if (this.closed.get()) {
            throw new CoordinatorException(describe(operation) + ": the coordinator is closed");
        }
    }

    /**
     * Turns a failure into the exception callers see. The connection counts as up only if Redis
     * itself answered (with an error reply other than an authentication failure).
     */
    private CoordinatorException failed(String operation, Throwable ex) {
        RedisCommandExecutionException reply = find(ex, RedisCommandExecutionException.class);
        this.connected = reply != null && !isAuthenticationError(reply.getMessage())
                && find(ex, io.lettuce.core.RedisConnectionException.class) == null;
        return new CoordinatorException(describe(operation) + ": " + summary(ex), ex);
    }

    private String describe(String operation) {
        return "Redis coordinator (" + this.endpoint + ", namespace '" + namespace() + "') could not " + operation;
    }

    private String namespace() {
        String prefix = this.keys.toString();
        return prefix.substring(1, prefix.length() - 2);
    }

    /** The outermost and innermost messages of a failure, with any secret masked. */
    private String summary(Throwable ex) {
        Throwable root = ex;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String text = String.valueOf(ex.getMessage());
        if (root != ex) {
            text = text + " (" + root.getClass().getSimpleName() + ": " + root.getMessage() + ")";
        }
        return (this.secret != null) ? text.replace(this.secret, "******") : text;
    }

    private static boolean isAuthenticationError(String message) {
        return message != null && (message.startsWith("NOAUTH") || message.startsWith("WRONGPASS")
                || message.startsWith("NOPERM") || message.startsWith("ERR AUTH"));
    }

    private static boolean isWrongType(CoordinatorException ex) {
        return rootMessage(ex).startsWith("WRONGTYPE");
    }

    private static String rootMessage(Throwable ex) {
        RedisCommandExecutionException reply = find(ex, RedisCommandExecutionException.class);
        return (reply != null && reply.getMessage() != null) ? reply.getMessage() : "";
    }

    private static <E extends Throwable> E find(Throwable ex, Class<E> type) {
        for (Throwable current = ex; current != null; current = (current.getCause() != current) ? current.getCause() : null) {
            if (type.isInstance(current)) {
                return type.cast(current);
            }
        }
        return null;
    }

    private void reportGarbage(String key, String found) {
        if (this.reportedGarbage.size() < MAX_REPORTED_GARBAGE_KEYS && this.reportedGarbage.add(key)) {
            logger.warn("Redis coordinator skipped key '{}': it holds {}. Only this coordinator should write "
                    + "under namespace '{}'; further findings on this key are logged at debug level", key, found,
                    namespace());
        }
        else {
            logger.debug("Redis coordinator skipped key '{}': it holds {}", key, found);
        }
    }

    private static long ttlMillis(Duration ttl) {
        return Math.max(1, CoordinatorArguments.requirePositiveTtl(ttl).toMillis());
    }

    private static long parseLongOr(String text, long fallback) {
        try {
            return Long.parseLong(text);
        }
        catch (NumberFormatException ex) {
            return fallback;
        }
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(Object reply) {
        if (reply instanceof byte[] raw) {
            return new String(raw, StandardCharsets.UTF_8);
        }
        return String.valueOf(reply);
    }

    /** For tests: the Redis key names this coordinator uses. */
    RedisKeys keys() {
        return this.keys;
    }

    /** For tests: the connection factory, to reach the same server as this coordinator. */
    RedisConnection connection() {
        return this.connectionFactory.getConnection();
    }
}
