package io.pivotpool.sample.chaos;

import java.time.Duration;
import java.util.List;

import io.pivotpool.testsupport.etcd.EtcdServer;
import io.pivotpool.testsupport.redis.RedisServer;

/**
 * The server the chaos test's instances coordinate through, the settings that differ between
 * backends, and the crash the test inflicts on it: scenario (d) kills the server and starts it
 * again on the same port.
 */
enum CoordinationBackend {

    /** One {@code redis-server}; restarted empty (Redis without persistence loses everything). */
    REDIS("redis", Duration.ofSeconds(1), Duration.ofMillis(600), "restarted empty on the same port"),

    /**
     * One {@code etcd} member. Its leases are whole seconds (a 600 ms instance-ttl would become 1 s
     * in etcd while the instances trust it for 600 ms), so leader-ttl and instance-ttl are 2 s.
     * Restarted on the same data directory: etcd's data, leases and revisions survive, as they do
     * in production.
     */
    ETCD("etcd", Duration.ofSeconds(2), Duration.ofSeconds(2), "restarted on the same data directory (its data survives)");

    private final String profile;

    private final Duration leaderTtl;

    private final Duration instanceTtl;

    private final String restart;

    CoordinationBackend(String profile, Duration leaderTtl, Duration instanceTtl, String restart) {
        this.profile = profile;
        this.leaderTtl = leaderTtl;
        this.instanceTtl = instanceTtl;
        this.restart = restart;
    }

    /** The Spring profile, and the {@code distributed.coordination} it selects. */
    String profile() {
        return this.profile;
    }

    Duration leaderTtl() {
        return this.leaderTtl;
    }

    Duration instanceTtl() {
        return this.instanceTtl;
    }

    /** What scenario (d)'s restart keeps, for its title and findings. */
    String restart() {
        return this.restart;
    }

    Server start() {
        return switch (this) {
            case REDIS -> new RedisBackedServer(RedisServer.start("chaos-" + System.nanoTime()));
            case ETCD -> new EtcdBackedServer(EtcdServer.start());
        };
    }

    /** A running server of this backend. */
    interface Server extends AutoCloseable {

        /** The instances' command-line arguments that point them at this server. */
        List<String> instanceArguments();

        /** SIGKILL: no clean shutdown. */
        void kill9();

        /** Starts it again on the same port. */
        void restart();

        /** A client that writes foreign records under {@code namespace}, straight to this server. */
        ForeignRecords foreignRecords(String namespace);

        @Override
        void close();
    }

    private record RedisBackedServer(RedisServer redis) implements Server {

        @Override
        public List<String> instanceArguments() {
            return List.of("--distributed.redis.host=" + this.redis.host(),
                    "--distributed.redis.port=" + this.redis.port(),
                    "--distributed.redis.password=" + this.redis.password());
        }

        @Override
        public void kill9() {
            this.redis.kill9();
        }

        @Override
        public void restart() {
            this.redis.restartOnSamePort();
        }

        @Override
        public ForeignRecords foreignRecords(String namespace) {
            return ForeignRecords.redis(this.redis.host(), this.redis.port(), this.redis.password(), namespace);
        }

        @Override
        public void close() {
            this.redis.close();
        }

        @Override
        public String toString() {
            return this.redis.toString();
        }
    }

    private record EtcdBackedServer(EtcdServer etcd) implements Server {

        @Override
        public List<String> instanceArguments() {
            return List.of("--distributed.etcd.endpoints=" + this.etcd.member().clientUrl());
        }

        @Override
        public void kill9() {
            this.etcd.member().kill9();
        }

        /** On the same data directory: unlike Redis here, etcd keeps what it had. */
        @Override
        public void restart() {
            this.etcd.member().restart();
        }

        @Override
        public ForeignRecords foreignRecords(String namespace) {
            return ForeignRecords.etcd(this.etcd.member().clientUrl(), namespace);
        }

        @Override
        public void close() {
            this.etcd.close();
        }

        @Override
        public String toString() {
            return this.etcd.toString();
        }
    }
}
