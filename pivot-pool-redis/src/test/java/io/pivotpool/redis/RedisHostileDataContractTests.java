package io.pivotpool.redis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.lettuce.core.ScriptOutputType;
import io.pivotpool.coordinator.Coordinator;
import io.pivotpool.testsupport.contract.HostileDataContract;
import io.pivotpool.testsupport.redis.RedisServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The hostile-data contract against a real redis-server: each plant is written with plain Redis
 * commands in the coordinator's key layout ({@link RedisKeys}), raw strings and all.
 */
class RedisHostileDataContractTests extends HostileDataContract {

    @RegisterExtension
    static final RedisServer server = RedisServer.fixture();

    private static RawRedis raw;

    @BeforeAll
    static void connectRaw() {
        raw = new RawRedis(server);
    }

    @AfterAll
    static void closeRaw() {
        raw.close();
    }

    @Override
    protected Coordinator createCoordinator(String namespace) {
        return RedisCoordinator.create(RedisCoordinatorSettings.builder()
            .host(server.host())
            .port(server.port())
            .namespace(namespace)
            .timeout(Duration.ofSeconds(2))
            .build());
    }

    @Override
    protected void plant(String namespace, Plant plant) {
        RedisKeys keys = new RedisKeys(namespace);
        var redis = raw.commands();
        if (plant instanceof Plant.Lease lease) {
                redis.del(keys.leader());
                redis.hset(keys.leader(), java.util.Map.of("holder", lease.holder(), "token", lease.token(), "ttl",
                        lease.ttlMillis()));
                if (lease.expiry() != null) {
                    redis.pexpire(keys.leader(), lease.expiry().toMillis());
                }
        }
        else if (plant instanceof Plant.Term term) {
            redis.set(keys.term(), term.value());
        }
        else if (plant instanceof Plant.Member member) {
                String key = keys.member(member.id());
                redis.del(key);
                redis.hset(key, member.fields());
                if (member.ttlMillis() != null) {
                    redis.hset(key, RedisScripts.TTL_FIELD, member.ttlMillis());
                }
                if (member.expiry() != null) {
                    redis.pexpire(key, member.expiry().toMillis());
                }
                // The raw score string, exactly: ZADD parses it as Redis would any client's.
                redis.eval("return redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])", ScriptOutputType.INTEGER,
                        new String[] { keys.members() }, member.indexExpiresAt(), member.id());
        }
        else if (plant instanceof Plant.Members members) {
            redis.eval("""
                    local t = redis.call('TIME')
                    local expiresAt = tonumber(t[1]) * 1000 + 60000
                    for i = 1, tonumber(ARGV[1]) do
                      local id = 'ghost-' .. i
                      redis.call('ZADD', KEYS[1], expiresAt, id)
                      redis.call('HSET', ARGV[2] .. id, 'id', id, 'host', 'h', 'startedAt', '1', 'ttl', '60000')
                      redis.call('PEXPIRE', ARGV[2] .. id, 60000)
                    end
                    -- The index lives as long as its longest entry, as the coordinator keeps it; left alone it
                    -- would keep the last heartbeat's expiry (one 500 ms ttl) and could vanish, plants and all,
                    -- before the coordinator looks at it.
                    redis.call('PEXPIREAT', KEYS[1], expiresAt)
                    return 0
                    """, ScriptOutputType.INTEGER, new String[] { keys.members() }, Integer.toString(members.count()),
                    keys.memberPrefix());
        }
        else if (plant instanceof Plant.Grant grant) {
            redis.hset(keys.capacity(grant.pool()), grant.holder(), grant.granted() + ":" + grant.expiresAt());
        }
        else if (plant instanceof Plant.Junk junk) {
                String value = "x".repeat(junk.bytes());
                switch (junk.target()) {
                    case LEADER -> redis.set(keys.leader(), value);
                    case TERM -> redis.set(keys.term(), value);
                    case MEMBERS -> redis.set(keys.members(), value);
                    case CAPACITY -> redis.set(keys.capacity(junk.name()), value);
                    case STATE -> redis.hset(keys.state(junk.name()), "junk", value);
                    case QUEUE -> redis.sadd(keys.queue(junk.name()), value);
                }
        }
        else if (plant instanceof Plant.Established) {
            RawRedis.establish(redis, namespace);
        }
        else if (plant instanceof Plant.Removed removed) {
            redis.del(switch (removed.target()) {
                case LEADER -> keys.leader();
                case TERM -> keys.term();
                default -> throw new IllegalArgumentException("Not a key to remove alone: " + removed);
            });
        }
        else if (plant instanceof Plant.DataLoss) {
                // As a restart without persistence: every key and every loaded script is gone.
                List<String> namespaceKeys = new ArrayList<>(redis.keys("{" + namespace + "}:*"));
                if (!namespaceKeys.isEmpty()) {
                    redis.del(namespaceKeys.toArray(String[]::new));
                }
                redis.scriptFlush();
        }
        else {
            throw new IllegalArgumentException("Unknown plant " + plant);
        }
    }
}
