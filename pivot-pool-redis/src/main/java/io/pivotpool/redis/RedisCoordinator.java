package io.pivotpool.redis;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.SslOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import io.lettuce.core.resource.DefaultClientResources;
import io.pivotpool.coordinator.CapacityGrant;
import io.pivotpool.coordinator.CapacityView;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.coordinator.CoordinatorException;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.LeaderLease;
import io.pivotpool.coordinator.SyncRound;
import io.pivotpool.coordinator.support.CoordinatorArguments;
import io.pivotpool.coordinator.support.DuplicateInstanceIds;
import io.pivotpool.coordinator.support.GarbageWarnings;
import io.pivotpool.coordinator.support.Plausibility;
import io.pivotpool.coordinator.support.RemoteText;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.data.redis.connection.RedisConnection;
import org.springframework.data.redis.connection.RedisPassword;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceClientConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * A {@link Coordinator} on Redis, through Spring Data Redis and Lettuce.
 *
 * <p>Every operation that reads and then writes is one Lua script (see {@link RedisScripts}), so
 * it is atomic on the server; every expiry is measured by the server's clock ({@code PX} TTLs and
 * {@code TIME} inside scripts), never by the instances'. All keys live under
 * {@code {namespace}:} (see {@link RedisKeys}); values are the caller's bytes or flat hash fields,
 * never Java serialization.
 *
 * <p><b>Nothing read from Redis is trusted.</b> Anyone who can write under the namespace may plant
 * anything there, so the scripts validate every key before use and drop or fence what is invalid,
 * and this class parses only plain decimal integers, saturates counts into an {@code int}, and
 * escapes control characters of every remote string before it reaches a log line or an exception
 * message. A bad key is logged as a warning that names it, at most once per key every
 * {@link #DEFAULT_GARBAGE_WARNING_INTERVAL}.
 *
 * <p>Every call waits at most the coordinator's operation timeout, whatever the connection
 * factory's command timeout: commands go out on the factory's connection asynchronously and the
 * coordinator stops waiting for the reply itself. A failure surfaces as a
 * {@link CoordinatorException} naming Redis, the endpoint and the namespace, never a password.
 * Lettuce reconnects on its own after Redis went away, so the next call after Redis returns
 * succeeds on the same coordinator. Blocking pops run on connections of their own (see
 * {@link BlockingPops}).
 *
 * <p>Create one with {@link #create(RedisCoordinatorSettings)} (it owns its connection) or
 * {@link #create(LettuceConnectionFactory, String, Duration)} (it borrows the application's).
 */
public final class RedisCoordinator implements Coordinator {

    /** The name {@code distributed.coordination} selects this backend by. */
    public static final String NAME = "redis";

    /** How often the same bad key is warned about at most; in between it is logged at debug level. */
    public static final Duration DEFAULT_GARBAGE_WARNING_INTERVAL = GarbageWarnings.DEFAULT_INTERVAL;

    private static final Logger logger = LoggerFactory.getLogger(RedisCoordinator.class);

    /** The most text, in UTF-8 bytes, of an instance's fields. */

    private static final Pattern DECIMAL_LONG = Pattern.compile("0|[1-9][0-9]{0,18}");

    private static final byte[] NO_BYTES = new byte[0];

    /** Pools whose number of holders a coordinator remembers at most ({@link #holdersSeen}). */
    private static final int MAX_HOLDER_HINTS = 4096;

    /** How long it takes at most to read every listed member again while the membership's version says nothing changed. */
    private static final long RELIST_NANOS = TimeUnit.SECONDS.toNanos(10);

    /** Keys per command of a batched read: bounds one reply while keeping the batch one round trip. */
    private static final int BATCH_KEYS = 512;

    private final LettuceConnectionFactory connectionFactory;

    private final @Nullable ClientResources ownedResources;

    private final BlockingPops blockingPops;

    private final RedisKeys keys;

    private final String endpoint;

    private final @Nullable String secret;

    private final long timeoutMillis;

    /** Bad key to when it was last warned about (System.nanoTime()). */
    private final GarbageWarnings garbageWarnings = new GarbageWarnings();


    private volatile boolean connected;

    /**
     * The highest fencing token this coordinator has seen, its own terms' and other holders': a lease
     * of its own with a lower token can only be one that Redis lost the end of (see
     * {@link #tryAcquireLeadership(String, Duration)}).
     */
    private final AtomicLong highestTokenSeen = new AtomicLong();

    /** This coordinator's last full listing of the members ({@link #liveInstances()}), or null. */
    private volatile @Nullable Listing listing;

    /** Where the next slice of the listing to read again begins ({@link #rereadSlice}). */
    private volatile int rereadCursor;

    /** When the listing was last read, whole or a slice (System.nanoTime()). */
    private volatile long rereadAtNanos;

    /** The instances this coordinator last registered, by id, to tell Redis whether their fields changed. */
    private final Map<String, Registration> lastRegistered = new ConcurrentHashMap<>();

    /**
     * The longest ttl this coordinator has used for each kind of record (leases, registrations,
     * grants, whose lease is twice their ttl: {@link RedisScripts#grantLeaseMillis}), 0 before the
     * first: a record of that kind lasting more than
     * {@link Plausibility#longestTtlMillis} of it is not one a member writes.
     */
    private final AtomicLong leaderTtlUsed = new AtomicLong();

    private final AtomicLong instanceTtlUsed = new AtomicLong();

    private final AtomicLong grantTtlUsed = new AtomicLong();

    /**
     * How many grants each pool held when this coordinator last requested one, passed to the next
     * request: a request that keeps its grant then takes the audit's odds from it instead of
     * reading the pool's length ({@link RedisScripts#REQUEST_CAPACITY}). Only steers how often a
     * ledger is audited; at most {@value #MAX_HOLDER_HINTS} pools, then forgotten.
     */
    private final Map<String, Integer> holdersSeen = new ConcurrentHashMap<>();

    /** Other live processes registering this coordinator's instance id, as heartbeats found them. */
    private final DuplicateInstanceIds duplicates = new DuplicateInstanceIds();

    /** A registration as written: with its ttl, which the instance hash holds too. */
    private record Registration(InstanceInfo instance, long ttlMillis) {
    }

    private final AtomicBoolean closed = new AtomicBoolean();

    private final AtomicBoolean evictionPolicyChecked = new AtomicBoolean();

    /** {@code maxmemory-policy} as read at the first connect (or why it could not be), null before. */
    private volatile @Nullable String evictionPolicy;

    private RedisCoordinator(LettuceConnectionFactory connectionFactory, @Nullable ClientResources ownedResources,
            String namespace, @Nullable String secret, Duration timeout) {
        this.connectionFactory = connectionFactory;
        this.ownedResources = ownedResources;
        this.keys = new RedisKeys(namespace);
        this.secret = secret;
        this.endpoint = endpoint(connectionFactory);
        this.timeoutMillis = Math.max(1, timeout.toMillis());
        this.blockingPops = new BlockingPops(connectionFactory.getRequiredNativeClient(), timeout);
    }

    /** What messages name as the server: host:port, or the Sentinel master or Cluster nodes a factory uses. */
    private static String endpoint(LettuceConnectionFactory factory) {
        if (factory.getSentinelConfiguration() != null) {
            var sentinel = factory.getSentinelConfiguration();
            String master = (sentinel.getMaster() != null) ? sentinel.getMaster().getName() : "?";
            return "Sentinel master " + master + " via " + nodes(sentinel.getSentinels());
        }
        if (factory.getClusterConfiguration() != null) {
            return "Cluster " + nodes(factory.getClusterConfiguration().getClusterNodes());
        }
        return factory.getHostName() + ":" + factory.getPort();
    }

    private static String nodes(java.util.Collection<org.springframework.data.redis.connection.RedisNode> nodes) {
        return nodes.stream().map(node -> node.getHost() + ":" + node.getPort()).collect(java.util.stream.Collectors.joining(","));
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
            .clientOptions(clientOptions(settings));
        if (settings.ssl()) {
            client.useSsl();
        }
        LettuceConnectionFactory factory = new LettuceConnectionFactory(server, client.build());
        try {
            factory.afterPropertiesSet();
            return new RedisCoordinator(factory, resources, settings.namespace(), settings.password(),
                    settings.timeout());
        }
        catch (RuntimeException ex) {
            factory.destroy();
            resources.shutdown(0, 0, TimeUnit.MILLISECONDS);
            throw ex;
        }
    }

    private static ClientOptions clientOptions(RedisCoordinatorSettings settings) {
        ClientOptions.Builder options = ClientOptions.builder()
            .autoReconnect(true)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .socketOptions(SocketOptions.builder().connectTimeout(settings.timeout()).keepAlive(true).build())
            .timeoutOptions(TimeoutOptions.enabled());
        if (settings.sslTrustedCertificates() != null) {
            // A private CA: trust exactly these certificates (PEM), still checking the host name.
            options.sslOptions(SslOptions.builder().jdkSslProvider()
                .trustManager(settings.sslTrustedCertificates().toFile())
                .build());
        }
        return options.build();
    }

    /**
     * A coordinator on an existing, started connection factory (the application's, for instance),
     * which it neither configures nor closes, waiting at most
     * {@link RedisCoordinatorSettings#DEFAULT_TIMEOUT} per operation (less if the factory's command
     * timeout is shorter).
     */
    public static RedisCoordinator create(LettuceConnectionFactory connectionFactory, String namespace) {
        return create(connectionFactory, namespace, RedisCoordinatorSettings.DEFAULT_TIMEOUT);
    }

    /**
     * A coordinator on an existing, started connection factory (the application's, for instance),
     * which it neither configures nor closes. Every operation waits at most {@code timeout} or the
     * factory's command timeout, whichever is shorter: an application factory with Lettuce's
     * default of 60 s cannot hold up a sync round, nor shutdown's release and unregister, longer
     * than the coordinator's own timeout. Blocking pops open connections of their own through the
     * factory's client.
     */
    public static RedisCoordinator create(LettuceConnectionFactory connectionFactory, String namespace,
            Duration timeout) {
        Objects.requireNonNull(connectionFactory, "connectionFactory must not be null");
        Objects.requireNonNull(timeout, "timeout must not be null");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, was " + timeout);
        }
        Duration factoryTimeout = Duration.ofMillis(connectionFactory.getTimeout());
        Duration bound = (!factoryTimeout.isZero() && !factoryTimeout.isNegative() && factoryTimeout.compareTo(timeout) < 0) ? factoryTimeout : timeout;
        return new RedisCoordinator(connectionFactory, null, namespace, connectionFactory.getPassword(), bound);
    }

    // ---- lifecycle -------------------------------------------------------------------------

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void connect() {
        call("connect", RedisClusterAsyncCommands::ping);
        checkEvictionPolicy();
    }

    /**
     * Reads {@code maxmemory-policy} once, at the first connect that reaches Redis, and warns
     * unless it is {@code noeviction}: every coordination key has a TTL, so any other policy may
     * evict one under memory pressure, and an evicted leader key lets a second instance lead while
     * the first still trusts its term (TESTING.md, finding 2). A user whose ACL does not allow
     * {@code CONFIG GET} (managed Redis often does not) gets one line saying it was not checked.
     */
    private void checkEvictionPolicy() {
        if (!this.evictionPolicyChecked.compareAndSet(false, true)) {
            return;
        }
        try {
            Map<String, String> config = call("read maxmemory-policy", redis -> redis.configGet("maxmemory-policy"));
            String policy = (config != null) ? config.get("maxmemory-policy") : null;
            this.evictionPolicy = (policy != null) ? RemoteText.escape(policy) : "unknown";
            if (policy != null && !"noeviction".equals(policy)) {
                logger.warn("Redis coordinator ({}, namespace '{}'): Redis evicts keys under memory pressure "
                        + "(maxmemory-policy {}); an evicted grant can let a capped pool exceed its cap until its "
                        + "holder's next request, and an evicted leader key or term costs up to one leader-ttl "
                        + "without a leader. Run the coordination's Redis with maxmemory-policy noeviction",
                        this.endpoint, RemoteText.escape(namespace()), RemoteText.escape(policy));
            }
        }
        catch (CoordinatorException ex) {
            this.evictionPolicy = "not readable (" + RemoteText.escape(rootMessage(ex)) + ")";
            String reply = rootMessage(ex);
            if (reply.startsWith("NOPERM") || reply.startsWith("ERR")) {
                // Redis answered (the user may not run CONFIG, or the command is renamed): still connected.
                this.connected = true;
            }
            logger.info("Redis coordinator ({}, namespace '{}'): could not read maxmemory-policy to check that Redis "
                    + "never evicts coordination keys (it should be noeviction): {}", this.endpoint,
                    RemoteText.escape(namespace()), ex.getMessage());
        }
    }

    @Override
    public boolean isConnected() {
        return this.connected && !this.closed.get();
    }

    /** Redis's {@code maxmemory-policy} as read at the first connect: it should be {@code noeviction}. */
    @Override
    public Map<String, String> details() {
        String policy = this.evictionPolicy;
        return (policy != null) ? Map.of("maxmemoryPolicy", policy) : Map.of();
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

    /** The most any one call waits for Redis. */
    public Duration timeout() {
        return Duration.ofMillis(this.timeoutMillis);
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
        requireId(instance.id(), "instance id");
        long ttlMillis = leaseTtlMillis(ttl);
        Map<String, String> fields = CoordinatorArguments.requireRegistrable(instance);
        List<byte[]> args = new ArrayList<>(3 + fields.size() * 2);
        args.add(bytes(instance.id()));
        args.add(bytes(Long.toString(ttlMillis)));
        Registration registration = new Registration(instance, ttlMillis);
        args.add(bytes(registration.equals(this.lastRegistered.get(instance.id())) ? "0" : "1"));
        args.add(bytes(longest(this.instanceTtlUsed, ttlMillis)));
        for (Map.Entry<String, String> field : fields.entrySet()) {
            args.add(bytes(field.getKey()));
            args.add(bytes(field.getValue()));
        }
        Object result = script(operation, RedisScripts.REGISTER, ScriptOutputType.MULTI,
                List.of(this.keys.members(), this.keys.member(instance.id()), this.keys.membersVersion()),
                args.toArray(byte[][]::new));
        check(operation, this.keys.members(), () -> registered(result, instance, ttlMillis));
        this.lastRegistered.put(instance.id(), registration);
    }

    /**
     * Reads the registration step's reply {@code {garbage, conflict}}: reports the garbage, and
     * fails when another live process registered the same id ({@link DuplicateInstanceIdException}).
     */
    private void registered(Object result, InstanceInfo instance, long ttlMillis) {
        List<?> parts = list(result);
        reportGarbage(list(parts.get(0)));
        String conflict = text(parts.get(1));
        this.duplicates.check("Redis", instance, conflict.isEmpty() ? -1 : Long.parseLong(conflict), ttlMillis);
    }

    @Override
    public void unregister(String instanceId) {
        Objects.requireNonNull(instanceId, "instanceId must not be null");
        this.lastRegistered.remove(instanceId);
        script("unregister", RedisScripts.UNREGISTER, ScriptOutputType.INTEGER,
                List.of(this.keys.members(), this.keys.member(instanceId), this.keys.membersVersion()),
                bytes(instanceId));
    }

    /**
     * One {@code ZCOUNT} of the index's entries expiring after now and within the longest ttl, no
     * script (a status read should cost Redis next to nothing). "Now" is this host's clock, the one
     * place the coordinator reads it: a count is a display, and a skew of some milliseconds only
     * shifts which just-expired entries it still shows.
     */
    @Override
    public int liveInstanceCount() {
        long now = System.currentTimeMillis();
        byte[] index = bytes(this.keys.members());
        try {
            Long count = call("count live instances", redis -> redis.zcount(index,
                    io.lettuce.core.Range.create((double) now + 1,
                            (double) (now + Plausibility.longestTtlMillis(this.instanceTtlUsed.get())))));
            return (count == null) ? 0 : saturatedInt(count);
        }
        catch (CoordinatorException ex) {
            if (!isWrongType(ex)) {
                throw ex;
            }
            reportGarbage(this.keys.members(), "a value that is not a sorted set of members");
            return 0;
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>Reads every member only when the membership changed since this coordinator's last listing
     * (its version, and the count of live entries, which an expiry lowers). Otherwise it reads again
     * only a slice of the members it listed, as many as keep the whole listing read again within
     * {@link #RELIST_NANOS}, from where the last call stopped: what no version records (a member's
     * hash changed or removed by hand) is still seen within that time, and the leader, which lists
     * the members every round, never reads a thousand hashes in one round (that took about 20 ms
     * of its round and held Redis for 10 ms; BENCHMARKS.md, round five).
     */
    @Override
    public List<InstanceInfo> liveInstances() {
        String operation = "list live instances";
        Listing known = this.listing;
        long now = System.nanoTime();
        List<byte[]> arguments = new ArrayList<>();
        arguments.add(bytes(this.keys.memberPrefix()));
        arguments.add((known != null) ? known.version() : NO_BYTES);
        arguments.add(bytes((known != null) ? Long.toString(known.liveCount()) : "0"));
        arguments.add(bytes(longest(this.instanceTtlUsed, 0)));
        if (known != null) {
            rereadSlice(known, now).forEach(id -> arguments.add(bytes(id)));
        }
        Object result = script(operation, RedisScripts.LIVE_INSTANCES, ScriptOutputType.MULTI,
                List.of(this.keys.members(), this.keys.membersVersion()), arguments.toArray(new byte[0][]));
        if (known != null && result instanceof List<?> parts && parts.size() == 2 && parts.get(0) instanceof byte[] same
                && "same".equals(text(same))) {
            List<String> rejected = new ArrayList<>();
            List<InstanceInfo> again = reply(operation, this.keys.members(), () -> instancesOf(list(parts.get(1)), rejected));
            if (rejected.isEmpty() && again.stream().allMatch(instance -> listed(known, instance))) {
                return known.instances();
            }
            // A member's hash changed by hand (its fields differ, or Java refuses them): list all again.
            this.listing = null;
            return liveInstances();
        }
        List<String> rejected = new ArrayList<>();
        Listing listed = reply(operation, this.keys.members(), () -> {
            List<?> parts = list(result);
            reportGarbage(list(parts.get(1)));
            List<InstanceInfo> instances = instancesOf(list(parts.get(0)), rejected);
            instances.sort(Comparator.comparing(InstanceInfo::id));
            return new Listing((byte[]) parts.get(2), integer(parts.get(3)), List.copyOf(instances));
        });
        // A hash the script took but Java refuses (a field missing or malformed) is dropped, as the
        // script drops what it refuses: a heartbeat only extends a hash, so nothing else would
        // replace it, and its instance would stay unlisted. The owner's next heartbeat writes it
        // anew; the next listing reads every member again (the version changed).
        for (String id : rejected) {
            unregister(id);
        }
        this.rereadAtNanos = now;
        this.listing = rejected.isEmpty() ? listed : null;
        return listed.instances();
    }

    /** The instances of a listing's entries {@code {id, field, value, ...}}; ids of those Java refuses go to {@code rejected}. */
    private List<InstanceInfo> instancesOf(List<?> entries, List<String> rejected) {
        List<InstanceInfo> instances = new ArrayList<>();
        for (Object entry : entries) {
            List<?> values = list(entry);
            String id = text(values.get(0));
            Map<String, String> fields = new LinkedHashMap<>();
            for (int i = 1; i + 1 < values.size(); i += 2) {
                fields.put(text(values.get(i)), text(values.get(i + 1)));
            }
            try {
                InstanceInfo instance = InstanceInfo.fromFields(fields);
                if (!instance.id().equals(id)) {
                    throw new IllegalArgumentException("its id field differs from its key");
                }
                instances.add(instance);
            }
            catch (IllegalArgumentException ex) {
                reportGarbage(this.keys.member(id), "a hash that is not an instance (" + ex.getMessage()
                        + "); it was dropped");
                rejected.add(id);
            }
        }
        return instances;
    }

    /** Whether the listing holds this instance with the same fields (its instances are sorted by id). */
    private static boolean listed(Listing known, InstanceInfo instance) {
        int at = Collections.binarySearch(known.instances(), instance, Comparator.comparing(InstanceInfo::id));
        return at >= 0 && known.instances().get(at).equals(instance);
    }

    /**
     * The ids of {@code known} to read again now: as many as read the whole listing again within
     * {@link #RELIST_NANOS} at this pace of calls, from where the last call stopped. Two callers at
     * once may read a slice twice or skip one; the next turn covers it.
     */
    private List<String> rereadSlice(Listing known, long now) {
        List<InstanceInfo> instances = known.instances();
        int size = instances.size();
        if (size == 0) {
            return List.of();
        }
        long since = Math.min(RELIST_NANOS, Math.max(0, now - this.rereadAtNanos));
        int count = (int) Math.min(size, Math.max(1, (size * since + RELIST_NANOS - 1) / RELIST_NANOS));
        int from = Math.floorMod(this.rereadCursor, size);
        List<String> ids = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            ids.add(instances.get((from + i) % size).id());
        }
        this.rereadCursor = (from + count) % size;
        this.rereadAtNanos = now;
        return ids;
    }

    /** A full listing: the membership's version and live count it was read at, and what it found. */
    private record Listing(byte[] version, long liveCount, List<InstanceInfo> instances) {
    }

    // ---- leadership ------------------------------------------------------------------------

    /**
     * {@inheritDoc}
     *
     * <p>When Redis cannot say whether an earlier term may still be trusted by its holder (the
     * term counter is missing, as at the first start of a namespace or after Redis lost its data,
     * or the leader key holds garbage), nobody leads for one {@code ttl}: see
     * {@link RedisScripts#ACQUIRE_LEADERSHIP}.
     */
    /**
     * {@inheritDoc}
     *
     * <p>Tokens never go backwards as this coordinator sees them. Redis may hand back a lease of this
     * instance's that ended long ago: a fail-over to an asynchronous replica that missed its release
     * and the next holder's term, or a restore from a backup. If that lease's token is below one this
     * coordinator has already seen, the old term is ended (released) and a new one begins at once,
     * with a token of {@code max(counter + 1, server time in µs)}: above the lost term's, as the
     * clock moved on meanwhile. One warning says so.
     */
    @Override
    public Optional<LeaderLease> tryAcquireLeadership(String instanceId, Duration ttl) {
        return attempt(instanceId, ttl).own();
    }

    /** One script: it reads the lease while it tries, so the follower's second call is saved. */
    @Override
    public Optional<LeaderLease> seekLeadership(String instanceId, Duration ttl) {
        Attempt attempt = attempt(instanceId, ttl);
        return attempt.own().isPresent() ? attempt.own() : attempt.other();
    }

    /** What an acquisition found: this instance's lease if it leads, else another holder's, if any. */
    private record Attempt(Optional<LeaderLease> own, Optional<LeaderLease> other) {
    }

    private Attempt attempt(String instanceId, Duration ttl) {
        requireId(instanceId, "instanceId");
        long ttlMillis = leaseTtlMillis(ttl);
        Attempt first = acquireOnce(instanceId, ttlMillis);
        Optional<LeaderLease> lease = first.own();
        long seen = this.highestTokenSeen.get();
        if (lease.isPresent() && lease.get().fencingToken() < seen) {
            LeaderLease stale = lease.get();
            logger.warn("Redis coordinator ({}, namespace '{}'): Redis holds an earlier lease of '{}' with token {}, "
                    + "below token {} seen before (writes were lost: a fail-over to a replica that missed them, or a "
                    + "restore); ending that term and starting a new one so that tokens never go backwards",
                    this.endpoint, RemoteText.escape(namespace()), RemoteText.escape(instanceId), stale.fencingToken(),
                    seen);
            releaseLeadership(instanceId, stale.fencingToken());
            first = acquireOnce(instanceId, ttlMillis);
            lease = first.own();
            if (lease.isPresent() && lease.get().fencingToken() < seen) {
                // Still below: the token seen was not Redis's (planted) or its clock went back. Take this one
                // rather than never leading again, and measure from it.
                logger.warn("Redis coordinator ({}, namespace '{}'): the new term's token {} is still below {}; the "
                        + "higher token was not granted by this server's counter or clock, continuing from the new one",
                        this.endpoint, RemoteText.escape(namespace()), lease.get().fencingToken(), seen);
                this.highestTokenSeen.set(lease.get().fencingToken());
            }
        }
        lease.ifPresent(granted -> saw(granted.fencingToken()));
        return new Attempt(lease, first.other());
    }

    private Attempt acquireOnce(String instanceId, long ttlMillis) {
        String operation = "acquire leadership";
        Object result = script(operation, RedisScripts.ACQUIRE_LEADERSHIP, ScriptOutputType.MULTI,
                List.of(this.keys.leader(), this.keys.term(), this.keys.leaderUntil()),
                bytes(instanceId), bytes(Long.toString(ttlMillis)), bytes(longest(this.leaderTtlUsed, ttlMillis)));
        return reply(operation, this.keys.leader(), () -> attemptOf(result));
    }

    /** Reads the acquisition script's reply. */
    private Attempt attemptOf(Object result) {
        List<?> parts = list(result);
        reportGarbage(list(parts.get(4)));
        if (integer(parts.get(0)) == 0L) {
            LeaderLease other = lease(parts.get(1), parts.get(2), parts.get(3));
            // An empty holder is a fence: nobody leads until it lapses.
            if (other.holderId().isEmpty()) {
                return new Attempt(Optional.empty(), Optional.empty());
            }
            saw(other.fencingToken());
            return new Attempt(Optional.empty(), Optional.of(other));
        }
        return new Attempt(Optional.of(lease(parts.get(1), parts.get(2), parts.get(3))), Optional.empty());
    }

    private void saw(long token) {
        this.highestTokenSeen.accumulateAndGet(token, Math::max);
    }

    @Override
    public boolean releaseLeadership(String instanceId, long fencingToken) {
        Objects.requireNonNull(instanceId, "instanceId must not be null");
        Object released = script("release leadership", RedisScripts.RELEASE_LEADERSHIP, ScriptOutputType.INTEGER,
                List.of(this.keys.leader(), this.keys.leaderUntil()), bytes(instanceId),
                bytes(Long.toString(fencingToken)));
        return Long.valueOf(1L).equals(released);
    }

    @Override
    public Optional<LeaderLease> currentLeader() {
        String operation = "read the leader";
        Object result = script(operation, RedisScripts.CURRENT_LEADER, ScriptOutputType.MULTI,
                List.of(this.keys.leader()), bytes(longest(this.leaderTtlUsed, 0)));
        return reply(operation, this.keys.leader(), () -> currentLeaderOf(result));
    }

    /** Reads the current-leader script's reply. */
    private Optional<LeaderLease> currentLeaderOf(Object result) {
        List<?> parts = list(result);
        String state = text(parts.get(0));
        if ("garbage".equals(state)) {
            reportGarbage(this.keys.leader(), text(parts.get(1)));
            return Optional.empty();
        }
        if ("lease".equals(state)) {
            LeaderLease lease = lease(parts.get(1), parts.get(2), parts.get(3));
            saw(lease.fencingToken());
            return Optional.of(lease);
        }
        return Optional.empty();
    }

    private LeaderLease lease(Object holder, Object token, Object ttl) {
        return new LeaderLease(text(holder), decimalLong(text(token)), decimalLong(text(ttl)));
    }

    // ---- queues ----------------------------------------------------------------------------

    @Override
    public void push(String queue, byte[] message) {
        Objects.requireNonNull(queue, "queue must not be null");
        Objects.requireNonNull(message, "message must not be null");
        String key = this.keys.queue(queue);
        String operation = "push to queue '" + queue + "'";
        try {
            call(operation, redis -> redis.lpush(bytes(key), message));
        }
        catch (CoordinatorException ex) {
            if (isWrongType(ex)) {
                // Pushing would mean destroying whatever is there: refuse instead.
                throw new CoordinatorException(RemoteText.escapeControls(describe(operation)
                        + ": key '" + key + "' holds a value that is not a queue"));
            }
            throw ex;
        }
    }

    @Override
    public Optional<byte[]> pop(String queue) {
        Objects.requireNonNull(queue, "queue must not be null");
        String key = this.keys.queue(queue);
        try {
            return Optional.ofNullable(call("pop from queue '" + queue + "'", redis -> redis.rpop(bytes(key))));
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
            throw failed(operation, ex);
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
    public void set(String key, byte[] value, @Nullable Duration ttl) {
        Objects.requireNonNull(key, "key must not be null");
        Objects.requireNonNull(value, "value must not be null");
        SetArgs args = (ttl != null) ? SetArgs.Builder.px(valueTtlMillis(ttl)) : new SetArgs();
        String stateKey = this.keys.state(key);
        call("set '" + key + "'", redis -> redis.set(bytes(stateKey), value, args));
    }

    @Override
    public Optional<byte[]> get(String key) {
        Objects.requireNonNull(key, "key must not be null");
        String stateKey = this.keys.state(key);
        try {
            return Optional.ofNullable(call("get '" + key + "'", redis -> redis.get(bytes(stateKey))));
        }
        catch (CoordinatorException ex) {
            if (isWrongType(ex)) {
                reportGarbage(stateKey, "a value that is not a string");
                return Optional.empty();
            }
            throw ex;
        }
    }

    /**
     * One {@code MGET} per page of {@value #BATCH_KEYS} keys, all pages sent before any reply is
     * awaited (pipelined): one round trip whatever the number of keys. A key holding something
     * other than a string reads as absent.
     */
    @Override
    public Map<String, byte[]> getAll(Collection<String> keys) {
        List<String> ordered = List.copyOf(keys);
        Map<String, byte[]> values = new LinkedHashMap<>();
        if (ordered.isEmpty()) {
            return values;
        }
        List<Command<List<KeyValue<byte[], byte[]>>>> pages = new ArrayList<>();
        for (int from = 0; from < ordered.size(); from += BATCH_KEYS) {
            byte[][] page = ordered.subList(from, Math.min(ordered.size(), from + BATCH_KEYS)).stream()
                .map(key -> bytes(this.keys.state(key)))
                .toArray(byte[][]::new);
            pages.add(redis -> redis.mget(page));
        }
        List<List<KeyValue<byte[], byte[]>>> replies = callAll("get " + ordered.size() + " keys", pages);
        int i = 0;
        for (List<KeyValue<byte[], byte[]>> reply : replies) {
            for (KeyValue<byte[], byte[]> value : reply) {
                String key = ordered.get(i++);
                if (value.hasValue()) {
                    values.put(key, value.getValue());
                }
            }
        }
        return values;
    }

    /**
     * One script ({@link RedisScripts#BOUNDED_GET}) per page of {@value #BATCH_KEYS} keys, all
     * pages sent before any reply is awaited: one round trip, and a value longer than the bound,
     * or of another type, is left on the server and reported, never copied here.
     */
    @Override
    public Map<String, byte[]> getAll(Collection<String> keys, int maxValueBytes) {
        CoordinatorArguments.requireValueBound(maxValueBytes);
        List<String> ordered = List.copyOf(keys);
        Map<String, byte[]> values = new LinkedHashMap<>();
        if (ordered.isEmpty()) {
            return values;
        }
        String operation = "get " + ordered.size() + " keys";
        byte[][] bound = { bytes(Integer.toString(maxValueBytes)) };
        List<List<String>> pageKeys = new ArrayList<>();
        List<Command<Object>> pages = new ArrayList<>();
        for (int from = 0; from < ordered.size(); from += BATCH_KEYS) {
            List<String> names = ordered.subList(from, Math.min(ordered.size(), from + BATCH_KEYS)).stream()
                .map(key -> this.keys.state(Objects.requireNonNull(key, "key must not be null")))
                .toList();
            byte[][] page = names.stream().map(RedisCoordinator::bytes).toArray(byte[][]::new);
            pageKeys.add(names);
            pages.add(redis -> redis.evalsha(RedisScripts.BOUNDED_GET.sha1(), ScriptOutputType.MULTI, page, bound));
        }
        List<Object> replies;
        try {
            replies = callAll(operation, pages);
        }
        catch (CoordinatorException ex) {
            if (!rootMessage(ex).startsWith("NOSCRIPT")) {
                throw ex;
            }
            // Not loaded on the server that holds these keys (a restarted one): page by page, each
            // loading the script where it runs.
            replies = new ArrayList<>();
            for (List<String> names : pageKeys) {
                replies.add(script(operation, RedisScripts.BOUNDED_GET, ScriptOutputType.MULTI, names, bound));
            }
        }
        List<Object> pageReplies = replies;
        check(operation, this.keys.state(ordered.get(0)), () -> {
            int i = 0;
            for (Object reply : pageReplies) {
                List<?> parts = list(reply);
                reportGarbage(list(parts.get(1)));
                for (Object value : list(parts.get(0))) {
                    String key = ordered.get(i++);
                    if (value instanceof byte[] found) {
                        values.put(key, found);
                    }
                }
            }
        });
        return values;
    }

    /** One {@code SET ... PX} per entry, all sent before any reply is awaited (pipelined): one round trip. */
    @Override
    public void setAll(Map<String, byte[]> values, Duration ttl) {
        SetArgs args = SetArgs.Builder.px(valueTtlMillis(CoordinatorArguments.requirePositiveTtl(ttl)));
        List<Command<String>> commands = new ArrayList<>();
        values.forEach((key, value) -> {
            Objects.requireNonNull(key, "key must not be null");
            Objects.requireNonNull(value, "value must not be null");
            byte[] stateKey = bytes(this.keys.state(key));
            commands.add(redis -> redis.set(stateKey, value, args));
        });
        if (!commands.isEmpty()) {
            callAll("set " + commands.size() + " keys", commands);
        }
    }

    @Override
    public boolean delete(String key) {
        Objects.requireNonNull(key, "key must not be null");
        String stateKey = this.keys.state(key);
        Long deleted = call("delete '" + key + "'", redis -> redis.del(bytes(stateKey)));
        return deleted != null && deleted > 0;
    }

    @Override
    public boolean compareAndSet(String key, byte @Nullable [] expected, byte @Nullable [] newValue,
            @Nullable Duration ttl) {
        Objects.requireNonNull(key, "key must not be null");
        long ttlMillis = (ttl != null) ? valueTtlMillis(ttl) : 0;
        String stateKey = this.keys.state(key);
        Object outcome = script("compare and set '" + key + "'", RedisScripts.COMPARE_AND_SET, ScriptOutputType.INTEGER,
                List.of(stateKey), bytes((expected != null) ? "1" : "0"), (expected != null) ? expected : NO_BYTES,
                bytes((newValue != null) ? "1" : "0"), (newValue != null) ? newValue : NO_BYTES,
                bytes(Long.toString(ttlMillis)));
        if (Long.valueOf(-1L).equals(outcome)) {
            reportGarbage(stateKey, "a value that is not a string");
            return false;
        }
        return Long.valueOf(1L).equals(outcome);
    }

    // ---- capacity --------------------------------------------------------------------------

    @Override
    public CapacityGrant requestCapacity(String pool, String instanceId, int requested, int globalMaxSize,
            Duration ttl) {
        CoordinatorArguments.requireCapacityRequest(pool, instanceId, requested, globalMaxSize);
        requireId(instanceId, "instanceId");
        this.duplicates.requireNotHeld(instanceId);
        long ttlMillis = leaseTtlMillis(ttl);
        String key = this.keys.capacity(pool);
        String operation = "request capacity of pool '" + pool + "'";
        Object result = script(operation, RedisScripts.REQUEST_CAPACITY, ScriptOutputType.MULTI,
                this.keys.capacityLedger(pool),
                bytes(instanceId), bytes(Integer.toString(requested)), bytes(Integer.toString(globalMaxSize)),
                bytes(Long.toString(ttlMillis)),
                bytes(longest(this.grantTtlUsed, RedisScripts.grantLeaseMillis(ttlMillis))), holdersHint(pool));
        return reply(operation, key, () -> grantOf(result, pool, instanceId, requested, globalMaxSize));
    }

    /** The number of holders of the pool this coordinator was last told, or empty. */
    private byte[] holdersHint(String pool) {
        Integer holders = this.holdersSeen.get(pool);
        return (holders != null) ? bytes(holders.toString()) : NO_BYTES;
    }

    private void sawHolders(String pool, long holders) {
        if (holders < 1 || holders > Integer.MAX_VALUE) {
            this.holdersSeen.remove(pool);
            return;
        }
        if (this.holdersSeen.size() >= MAX_HOLDER_HINTS && !this.holdersSeen.containsKey(pool)) {
            this.holdersSeen.clear();
        }
        this.holdersSeen.put(pool, (int) holders);
    }

    /** Reads the request script's reply. */
    private CapacityGrant grantOf(Object result, String pool, String instanceId, int requested, int globalMaxSize) {
        List<?> parts = list(result);
        reportGarbage(list(parts.get(2)));
        // The script grants at most what is left under an int cap; saturate anyway, never wrap.
        int granted = Math.min(saturatedInt(integer(parts.get(0))), requested);
        boolean renewed = parts.size() > 3 && integer(parts.get(3)) == 1;
        if (parts.size() > 4) {
            sawHolders(pool, integer(parts.get(4)));
        }
        return new CapacityGrant(pool, instanceId, granted, saturatedInt(integer(parts.get(1))), globalMaxSize,
                renewed);
    }

    // ---- a follower's round ------------------------------------------------------------------

    /**
     * One script ({@link RedisScripts#ROUND}): every step of the round as its own method does it,
     * in one round trip, which is most of what a follower costs Redis. Unlike {@link #getAll}, the
     * values read are bounded: one longer than {@link RedisScripts#MAX_ROUND_VALUE_BYTES} (64 KiB;
     * a round reads targets of under 128 bytes) or of another type is left out and reported, and
     * an error other than the key's type (a refused permission) fails the round. The rare second step of
     * {@link #seekLeadership} (Redis handed back a lease of this instance below a token seen before)
     * is made afterwards, as separate calls.
     */
    @Override
    public SyncRound.Reply round(SyncRound round) {
        InstanceInfo instance = round.instance();
        String id = instance.id();
        requireId(id, "instance id");
        long instanceTtlMillis = leaseTtlMillis(round.instanceTtl());
        Map<String, String> fields = CoordinatorArguments.requireRegistrable(instance);
        Duration leaderTtl = round.leaderTtl();
        long leaderTtlMillis = (leaderTtl != null) ? leaseTtlMillis(leaderTtl) : 0;

        Duration valueTtl = round.writeTtl();
        long valueTtlMillis = (valueTtl != null && !round.writes().isEmpty()) ? valueTtlMillis(valueTtl) : 0;
        long grantLeaseMillis = 0;
        for (SyncRound.CapacityRequest request : round.capacity()) {
            CoordinatorArguments.requireCapacityRequest(request.pool(), id, request.requested(),
                    request.globalMaxSize());
            grantLeaseMillis = Math.max(grantLeaseMillis,
                    RedisScripts.grantLeaseMillis(leaseTtlMillis(request.ttl())));
        }
        List<String> keyNames = new ArrayList<>();
        keyNames.add(this.keys.members());
        keyNames.add(this.keys.member(id));
        keyNames.add(this.keys.membersVersion());
        keyNames.add(this.keys.leader());
        keyNames.add(this.keys.term());
        keyNames.add(this.keys.leaderUntil());
        List<byte[]> args = new ArrayList<>();
        args.add(bytes(id));
        args.add(bytes(Long.toString(instanceTtlMillis)));
        args.add(bytes((leaderTtl != null) ? Long.toString(leaderTtlMillis) : ""));
        args.add(bytes(round.countMembers() ? "1" : "0"));
        args.add(bytes(Long.toString(valueTtlMillis)));
        args.add(bytes(Integer.toString(round.writes().size())));
        args.add(bytes(Integer.toString(round.capacity().size())));
        args.add(bytes(Integer.toString(round.reads().size())));
        args.add(bytes(Integer.toString(fields.size())));
        Registration registration = new Registration(instance, instanceTtlMillis);
        args.add(bytes(registration.equals(this.lastRegistered.get(instance.id())) ? "0" : "1"));
        args.add(bytes(longest(this.leaderTtlUsed, leaderTtlMillis)));
        args.add(bytes(longest(this.instanceTtlUsed, instanceTtlMillis)));
        args.add(bytes(longest(this.grantTtlUsed, grantLeaseMillis)));
        fields.forEach((name, value) -> {
            args.add(bytes(name));
            args.add(bytes(value));
        });
        round.writes().forEach((key, value) -> {
            keyNames.add(this.keys.state(Objects.requireNonNull(key, "key must not be null")));
            args.add(Objects.requireNonNull(value, "value must not be null"));
        });
        for (SyncRound.CapacityRequest request : round.capacity()) {
            keyNames.addAll(this.keys.capacityLedger(request.pool()));
            args.add(bytes(Integer.toString(request.requested())));
            args.add(bytes(Integer.toString(request.globalMaxSize())));
            args.add(bytes(Long.toString(leaseTtlMillis(request.ttl()))));
            args.add(holdersHint(request.pool()));
        }
        round.reads().forEach(key -> keyNames.add(this.keys.state(Objects.requireNonNull(key, "key must not be null"))));
        String operation = "synchronise";
        Object result = script(operation, RedisScripts.ROUND, ScriptOutputType.MULTI, keyNames,
                args.toArray(byte[][]::new));
        SyncRound.Reply reply = reply(operation, this.keys.members(), () -> {
            List<?> parts = list(result);
            registered(parts.get(0), instance, instanceTtlMillis);
            Optional<LeaderLease> leader;
            if (leaderTtl == null) {
                leader = currentLeaderOf(parts.get(1));
            }
            else {
                Attempt attempt = attemptOf(parts.get(1));
                leader = attempt.own().isPresent() ? attempt.own() : attempt.other();
            }
            long members = integer(parts.get(2));
            List<?> grantReplies = list(parts.get(3));
            List<CapacityGrant> grants = new ArrayList<>(grantReplies.size());
            for (int i = 0; i < round.capacity().size(); i++) {
                SyncRound.CapacityRequest request = round.capacity().get(i);
                grants.add(grantOf(grantReplies.get(i), request.pool(), id, request.requested(),
                        request.globalMaxSize()));
            }
            reportGarbage(list(parts.get(5)));
            List<?> valueReplies = list(parts.get(4));
            Map<String, byte[]> values = new LinkedHashMap<>();
            for (int i = 0; i < round.reads().size(); i++) {
                if (valueReplies.get(i) instanceof byte[] value) {
                    values.put(round.reads().get(i), value);
                }
            }
            return new SyncRound.Reply(leader, (members < 0) ? -1 : saturatedInt(members), grants, values);
        });
        this.lastRegistered.put(instance.id(), registration);
        Optional<LeaderLease> leader = reply.leader();
        if (leaderTtl != null && leader.isPresent() && leader.get().holderId().equals(id)) {
            if (leader.get().fencingToken() < this.highestTokenSeen.get()) {
                // See attempt(): end the earlier lease and start a term above the token seen.
                return new SyncRound.Reply(seekLeadership(id, leaderTtl), reply.memberCount(), reply.grants(),
                        reply.values());
            }
            saw(leader.get().fencingToken());
        }
        return reply;
    }

    @Override
    public void releaseCapacity(String pool, String instanceId) {
        Objects.requireNonNull(pool, "pool must not be null");
        Objects.requireNonNull(instanceId, "instanceId must not be null");
        String key = this.keys.capacity(pool);
        String operation = "release capacity of pool '" + pool + "'";
        Object result = script(operation, RedisScripts.RELEASE_CAPACITY, ScriptOutputType.MULTI,
                this.keys.capacityLedger(pool), bytes(instanceId));
        check(operation, key, () -> reportGarbage(list(result)));
    }

    @Override
    public boolean releaseCapacityOfNonMember(String pool, String holder) {
        Objects.requireNonNull(pool, "pool must not be null");
        Objects.requireNonNull(holder, "holder must not be null");
        String key = this.keys.capacity(pool);
        String operation = "release the grant of pool '" + pool + "' held by a non-member";
        List<String> keys = new ArrayList<>(this.keys.capacityLedger(pool));
        keys.add(this.keys.members());
        keys.add(this.keys.member(holder));
        Object result = script(operation, RedisScripts.RELEASE_NON_MEMBER_CAPACITY, ScriptOutputType.MULTI, keys,
                bytes(holder));
        return reply(operation, key, () -> {
            List<?> parts = list(result);
            reportGarbage(list(parts.get(1)));
            return integer(parts.get(0)) == 1;
        });
    }

    @Override
    public CapacityView capacity(String pool) {
        Objects.requireNonNull(pool, "pool must not be null");
        String key = this.keys.capacity(pool);
        String operation = "read capacity of pool '" + pool + "'";
        Object result = script(operation, RedisScripts.CAPACITY, ScriptOutputType.MULTI,
                this.keys.capacityLedger(pool));
        return reply(operation, key, () -> {
            List<?> parts = list(result);
            reportGarbage(list(parts.get(1)));
            List<?> pairs = list(parts.get(0));
            Map<String, Integer> grants = new LinkedHashMap<>();
            long total = 0;
            for (int i = 0; i + 1 < pairs.size(); i += 2) {
                int granted = saturatedInt(integer(pairs.get(i + 1)));
                grants.put(text(pairs.get(i)), granted);
                total += granted;
            }
            return new CapacityView(pool, grants, saturatedInt(total));
        });
    }

    // ---- plumbing --------------------------------------------------------------------------

    @Override
    public String toString() {
        return "RedisCoordinator[" + this.endpoint + ", namespace " + this.keys + "]";
    }

    /** Sends one command, async, on the factory's connection; async so that the coordinator's timeout bounds it. */
    @FunctionalInterface
    private interface Command<T> {

        RedisFuture<T> send(RedisClusterAsyncCommands<byte[], byte[]> redis);
    }

    /**
     * Runs a script by its digest, loading it with {@code EVAL} when the server does not know it
     * (after a restart, for instance). Returns the raw reply: lists, byte arrays and longs.
     */
    private Object script(String operation, LuaScript script, ScriptOutputType type, List<String> keys,
            byte[]... args) {
        byte[][] keyBytes = keys.stream().map(RedisCoordinator::bytes).toArray(byte[][]::new);
        try {
            return call(operation, redis -> redis.evalsha(script.sha1(), type, keyBytes, args));
        }
        catch (CoordinatorException ex) {
            if (!rootMessage(ex).startsWith("NOSCRIPT")) {
                throw ex;
            }
            return call(operation, redis -> redis.<Object>eval(script.source(), type, keyBytes, args));
        }
    }

    /**
     * Sends every command on one connection before awaiting any reply (Lettuce pipelines them), and
     * waits at most the coordinator's timeout for all the replies together. A reply that comes
     * later is discarded by Lettuce.
     */
    @SuppressWarnings("unchecked")
    private <T> List<T> callAll(String operation, List<Command<T>> commands) {
        ensureOpen(operation);
        List<RedisFuture<T>> futures = new ArrayList<>(commands.size());
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(this.timeoutMillis);
        try (RedisConnection connection = this.connectionFactory.getConnection()) {
            var redis = (RedisClusterAsyncCommands<byte[], byte[]>) connection.getNativeConnection();
            for (Command<T> command : commands) {
                futures.add(command.send(redis));
            }
            List<T> results = new ArrayList<>(futures.size());
            for (RedisFuture<T> future : futures) {
                results.add(future.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
            }
            this.connected = true;
            return results;
        }
        catch (ExecutionException ex) {
            throw failed(operation, ex);
        }
        catch (TimeoutException ex) {
            futures.forEach(future -> future.cancel(false));
            throw failed(operation, new TimeoutException("no reply within " + this.timeoutMillis + " ms"));
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            futures.forEach(future -> future.cancel(false));
            throw new CoordinatorException(RemoteText.escapeControls(describe(operation) + ": interrupted"), ex);
        }
        catch (RuntimeException ex) {
            throw failed(operation, ex);
        }
    }

    /**
     * Sends a command on the factory's connection (the shared one, normally) and waits at most the
     * coordinator's timeout for the reply. A reply that comes later is discarded by Lettuce.
     */
    private <T> T call(String operation, Command<T> command) {
        return callAll(operation, List.of(command)).get(0);
    }

    @FunctionalInterface
    private interface ReplyReader<T> {

        T read();
    }

    /**
     * Reads a script's reply: a reply of an unexpected shape, or a number that is not a plain
     * decimal of at most 64 bits, becomes a {@link CoordinatorException} naming the key.
     */
    private <T> T reply(String operation, String key, ReplyReader<T> reader) {
        try {
            return reader.read();
        }
        catch (ClassCastException | IndexOutOfBoundsException | IllegalArgumentException | NullPointerException ex) {
            throw new CoordinatorException(RemoteText.escapeControls(describe(operation)) + ": unexpected data at key '"
                    + RemoteText.escape(key) + "': " + RemoteText.escape(String.valueOf(ex.getMessage())));
        }
    }

    /** {@link #reply} for a reader that only checks (and reports) what it reads. */
    private void check(String operation, String key, Runnable reader) {
        reply(operation, key, () -> {
            reader.run();
            return Boolean.TRUE;
        });
    }

    private void ensureOpen(String operation) {
        if (this.closed.get()) {
            throw new CoordinatorException(RemoteText.escapeControls(describe(operation) + ": the coordinator is closed"));
        }
    }

    /**
     * Turns a failure into the exception callers see. The connection counts as up only if Redis
     * itself answered (with an error reply other than an authentication failure).
     */
    private CoordinatorException failed(String operation, Throwable ex) {
        Throwable failure = unwrap(ex);
        RedisCommandExecutionException reply = find(failure, RedisCommandExecutionException.class);
        this.connected = reply != null && !isAuthenticationError(reply.getMessage())
                && find(failure, io.lettuce.core.RedisConnectionException.class) == null;
        return new CoordinatorException(RemoteText.escapeControls(describe(operation)) + ": " + summary(failure),
                failure);
    }

    private static Throwable unwrap(Throwable ex) {
        Throwable current = ex;
        while ((current instanceof ExecutionException || current instanceof CompletionException)
                && current.getCause() != null) {
            current = current.getCause();
        }
        return current;
    }

    private String describe(String operation) {
        return "Redis coordinator (" + this.endpoint + ", namespace '" + namespace() + "') could not " + operation;
    }

    private String namespace() {
        String prefix = this.keys.toString();
        return prefix.substring(1, prefix.length() - 2);
    }

    /** The outermost and innermost messages of a failure, secrets masked, control characters escaped. */
    private String summary(Throwable ex) {
        Throwable root = ex;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String text = String.valueOf(ex.getMessage());
        if (root != ex) {
            text = text + " (" + root.getClass().getSimpleName() + ": " + root.getMessage() + ")";
        }
        if (this.secret != null) {
            text = text.replace(this.secret, "******");
        }
        return RemoteText.escapeControls(text.length() > 1024 ? text.substring(0, 1024) + "..." : text);
    }

    private static boolean isAuthenticationError(@Nullable String message) {
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

    private static <E extends Throwable> @Nullable E find(Throwable ex, Class<E> type) {
        for (Throwable current = ex; current != null; current = (current.getCause() != current) ? current.getCause() : null) {
            if (type.isInstance(current)) {
                return type.cast(current);
            }
        }
        return null;
    }

    /**
     * The longest lifetime a member writes a record of one kind with ({@link Plausibility}), from
     * the longest ttl this coordinator used for it, {@code ttlMillis} (0: none) included; empty when
     * it has used none yet (the scripts then allow {@link RedisScripts#MAX_TTL_MILLIS}).
     */
    private static String longest(AtomicLong used, long ttlMillis) {
        long longestUsed = used.accumulateAndGet(ttlMillis, Math::max);
        return (longestUsed > 0) ? Long.toString(Plausibility.longestTtlMillis(longestUsed)) : "";
    }

    /** Reports the {@code key, description} pairs a script returned. */
    private void reportGarbage(List<?> pairs) {
        for (int i = 0; i + 1 < pairs.size(); i += 2) {
            reportGarbage(text(pairs.get(i)), text(pairs.get(i + 1)));
        }
    }

    /**
     * Logs a bad key as a warning at most once per key every garbage-warning interval (at debug
     * level in between), so that a key corrupted again later is reported again while a key that
     * stays bad does not flood the log. Key and description may carry remote text: escaped.
     */
    private void reportGarbage(String key, String found) {
        if (key.equals(this.keys.term())) {
            // The counter was reset: tokens continue from the new value, below what was seen.
            this.highestTokenSeen.set(0);
        }
        if (this.garbageWarnings.shouldWarn(key)) {
            logger.warn("Redis coordinator found garbage at key '{}': {}. Only this coordinator should write under "
                    + "namespace '{}'; this key is reported at most every {}", RemoteText.escape(key),
                    RemoteText.escape(found), RemoteText.escape(namespace()),
                    this.garbageWarnings.interval());
        }
        else if (logger.isDebugEnabled()) {
            logger.debug("Redis coordinator found garbage at key '{}': {}", RemoteText.escape(key),
                    RemoteText.escape(found));
        }
    }

    /** For tests: how often the same bad key is warned about at most. */
    void garbageWarningInterval(Duration interval) {
        this.garbageWarnings.interval(interval);
    }

    /** A TTL of a lease (registration, leadership, grant): positive and at most {@link RedisScripts#MAX_TTL_MILLIS}. */
    private static long leaseTtlMillis(Duration ttl) {
        CoordinatorArguments.requirePositiveTtl(ttl);
        if (ttl.compareTo(Duration.ofMillis(RedisScripts.MAX_TTL_MILLIS)) > 0) {
            throw new IllegalArgumentException("ttl must be at most " + Duration.ofMillis(RedisScripts.MAX_TTL_MILLIS)
                    + " for a Redis lease, was " + ttl);
        }
        return Math.max(1, ttl.toMillis());
    }

    /** A TTL of a shared-state value: positive and representable in milliseconds. */
    private static long valueTtlMillis(Duration ttl) {
        CoordinatorArguments.requirePositiveTtl(ttl);
        try {
            return Math.max(1, ttl.toMillis());
        }
        catch (ArithmeticException ex) {
            throw new IllegalArgumentException("ttl is too long, was " + ttl, ex);
        }
    }

    private static void requireId(String id, String what) {
        Objects.requireNonNull(id, what + " must not be null");
        if (id.isEmpty()) {
            throw new IllegalArgumentException(what + " must not be empty");
        }
        if (bytes(id).length > RedisScripts.MAX_ID_BYTES) {
            throw new IllegalArgumentException(what + " must be at most " + RedisScripts.MAX_ID_BYTES
                    + " bytes in UTF-8, was " + bytes(id).length);
        }
    }

    /**
     * Parses a plain decimal integer of at most 64 bits: no sign, exponent, hex, leading zero,
     * {@code inf} or {@code nan}.
     *
     * @throws IllegalArgumentException for anything else (the caller names the key)
     */
    static long decimalLong(String text) {
        if (text == null || !DECIMAL_LONG.matcher(text).matches()) {
            throw new IllegalArgumentException("not a plain decimal integer: '" + RemoteText.escape(text) + "'");
        }
        try {
            return Long.parseLong(text);
        }
        catch (NumberFormatException ex) {
            throw new IllegalArgumentException("not a 64-bit integer: '" + text + "'");
        }
    }

    static int saturatedInt(long value) {
        return (int) Math.max(0, Math.min(Integer.MAX_VALUE, value));
    }

    private static List<?> list(Object reply) {
        if (reply instanceof List<?> list) {
            return list;
        }
        throw new IllegalArgumentException("expected a list, got " + describeReply(reply));
    }

    private static long integer(Object reply) {
        if (reply instanceof Long value) {
            return value;
        }
        throw new IllegalArgumentException("expected an integer, got " + describeReply(reply));
    }

    private static String describeReply(Object reply) {
        return (reply == null) ? "nothing" : "'" + RemoteText.escape(text(reply)) + "'";
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
