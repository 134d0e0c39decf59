package io.pivotpool.redis;

import java.util.List;

import org.springframework.data.redis.core.script.RedisScript;

/**
 * The Lua scripts behind every multi-step operation. Redis runs a script atomically, so no other
 * client sees a half-done step, and clocks are the server's ({@code TIME}, {@code PEXPIRE}), so the
 * instances' clocks never have to agree.
 *
 * <p>Each script checks the type of a key before it reads it: a key that holds something the
 * coordinator did not write is reported back (as a type name or field list) instead of failing
 * the script, and the Java side logs one warning per key. Numbers are handed to Redis as strings
 * formatted with {@code %.0f}, because Redis would format a Lua number in exponent form.
 */
@SuppressWarnings("rawtypes")
final class RedisScripts {

    private static final String COMMON = """
            local function int(n) return string.format('%.0f', n) end
            local function kind(key) return redis.call('TYPE', key).ok end
            local function nowMillis()
              local t = redis.call('TIME')
              return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            end
            """;

    /**
     * Acquire or renew. KEYS: leader, term. ARGV: instance id, ttl ms. Returns {@code {leads (0|1),
     * holder, token, ttl, garbage key, garbage}}: the key (leader or term) that held something else,
     * and what, both empty if none did.
     *
     * <p>A new term's token is {@code max(last token + 1, server time in µs)}: it grows with every
     * term like a counter, and keeps growing when Redis lost the counter (a restart without
     * persistence, a failover to a replica that missed the last write), because the clock moved on
     * meanwhile.
     */
    static final RedisScript<List> ACQUIRE_LEADERSHIP = RedisScript.of(COMMON + """
            local leader, term, id, ttl = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
            local garbageKey, garbage = '', ''
            local leaderKind = kind(leader)
            if leaderKind == 'hash' then
              local holder = redis.call('HGET', leader, 'holder')
              local token = redis.call('HGET', leader, 'token')
              if holder and token and tonumber(token) then
                if holder ~= id then
                  return {0, holder, token, redis.call('HGET', leader, 'ttl') or '0', '', ''}
                end
                redis.call('HSET', leader, 'ttl', ttl)
                redis.call('PEXPIRE', leader, ttl)
                return {1, holder, token, ttl, '', ''}
              end
              garbageKey, garbage = leader, 'a hash without holder and token'
            elseif leaderKind ~= 'none' then
              garbageKey, garbage = leader, 'a ' .. leaderKind
            end
            local last = 0
            local termKind = kind(term)
            if termKind == 'string' then
              last = tonumber(redis.call('GET', term))
              if not last then
                last = 0
                garbageKey, garbage = term, 'a non-numeric string'
              end
            elseif termKind ~= 'none' then
              garbageKey, garbage = term, 'a ' .. termKind
            end
            local t = redis.call('TIME')
            local token = int(math.max(last + 1, tonumber(t[1]) * 1000000 + tonumber(t[2])))
            redis.call('DEL', leader, term)
            redis.call('SET', term, token)
            redis.call('HSET', leader, 'holder', id, 'token', token, 'ttl', ttl)
            redis.call('PEXPIRE', leader, ttl)
            return {1, id, token, ttl, garbageKey, garbage}
            """, List.class);

    /** KEYS: leader. ARGV: instance id, token. Returns 1 if that term was ended, else 0. */
    static final RedisScript<Long> RELEASE_LEADERSHIP = RedisScript.of(COMMON + """
            if kind(KEYS[1]) == 'hash'
                and redis.call('HGET', KEYS[1], 'holder') == ARGV[1]
                and redis.call('HGET', KEYS[1], 'token') == ARGV[2] then
              redis.call('DEL', KEYS[1])
              return 1
            end
            return 0
            """, Long.class);

    /** KEYS: leader. Returns {@code {}} (nobody leads), {@code {holder, token, ttl}} or {@code {garbage}}. */
    static final RedisScript<List> CURRENT_LEADER = RedisScript.of(COMMON + """
            local leaderKind = kind(KEYS[1])
            if leaderKind == 'none' then return {} end
            if leaderKind ~= 'hash' then return {'a ' .. leaderKind} end
            local holder = redis.call('HGET', KEYS[1], 'holder')
            local token = redis.call('HGET', KEYS[1], 'token')
            if not (holder and token and tonumber(token)) then return {'a hash without holder and token'} end
            return {holder, token, redis.call('HGET', KEYS[1], 'ttl') or '0'}
            """, List.class);

    /**
     * Register or heartbeat. KEYS: members, member. ARGV: instance id, ttl ms, field, value, ...
     * Returns {@code {garbage}}: empty or what the members index held before it was rebuilt.
     */
    static final RedisScript<List> REGISTER = RedisScript.of(COMMON + """
            local members, member, id, ttl = KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2])
            local garbage = ''
            local membersKind = kind(members)
            if membersKind ~= 'zset' and membersKind ~= 'none' then
              redis.call('DEL', members)
              garbage = 'a ' .. membersKind
            end
            local now = nowMillis()
            redis.call('DEL', member)
            redis.call('HSET', member, unpack(ARGV, 3))
            redis.call('PEXPIRE', member, ARGV[2])
            redis.call('ZADD', members, int(now + ttl), id)
            redis.call('ZREMRANGEBYSCORE', members, '-inf', int(now))
            local last = redis.call('ZRANGE', members, -1, -1, 'WITHSCORES')
            redis.call('PEXPIREAT', members, last[2])
            return {garbage}
            """, List.class);

    /** KEYS: members, member. ARGV: instance id. */
    static final RedisScript<Long> UNREGISTER = RedisScript.of(COMMON + """
            if kind(KEYS[1]) == 'zset' then redis.call('ZREM', KEYS[1], ARGV[1]) end
            return redis.call('DEL', KEYS[2])
            """, Long.class);

    /**
     * KEYS: members. ARGV: member key prefix. Drops expired entries, then returns one entry per
     * live instance: {@code {id, 'hash', field, value, ...}}, or {@code {id, type}} when its key
     * holds something else; {@code {{'', type}}} when the index itself is not a sorted set.
     */
    static final RedisScript<List> LIVE_INSTANCES = RedisScript.of(COMMON + """
            local members = KEYS[1]
            local membersKind = kind(members)
            if membersKind == 'none' then return {} end
            if membersKind ~= 'zset' then return {{'', membersKind}} end
            redis.call('ZREMRANGEBYSCORE', members, '-inf', int(nowMillis()))
            local out = {}
            for _, id in ipairs(redis.call('ZRANGE', members, 0, -1)) do
              local key = ARGV[1] .. id
              local memberKind = kind(key)
              if memberKind == 'hash' then
                local entry = {id, 'hash'}
                for _, part in ipairs(redis.call('HGETALL', key)) do entry[#entry + 1] = part end
                out[#out + 1] = entry
              elseif memberKind == 'none' then
                redis.call('ZREM', members, id)
              else
                out[#out + 1] = {id, memberKind}
              end
            end
            return out
            """, List.class);

    /**
     * KEYS: key. ARGV: expect present (0|1), expected, write new (0|1), new value, ttl ms (0: none).
     * Returns 1 if replaced, 0 if the value differed, -1 if the key holds a non-string.
     */
    static final RedisScript<Long> COMPARE_AND_SET = RedisScript.of(COMMON + """
            local keyKind = kind(KEYS[1])
            if keyKind ~= 'string' and keyKind ~= 'none' then return -1 end
            local current = redis.call('GET', KEYS[1])
            if ARGV[1] == '0' then
              if current then return 0 end
            elseif current ~= ARGV[2] then
              return 0
            end
            if ARGV[3] == '0' then
              redis.call('DEL', KEYS[1])
            elseif ARGV[5] == '0' then
              redis.call('SET', KEYS[1], ARGV[4])
            else
              redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
            end
            return 1
            """, Long.class);

    /**
     * The shared part of the capacity scripts: drops expired grants and garbage fields of the pool
     * hash {@code key}, and returns the live grants by holder plus what was garbage.
     */
    private static final String LIVE_GRANTS = """
            local function liveGrants(key, now)
              local grants, garbage = {}, {}
              local keyKind = kind(key)
              if keyKind ~= 'hash' then
                if keyKind ~= 'none' then
                  redis.call('DEL', key)
                  garbage[#garbage + 1] = '*' .. keyKind
                end
                return grants, garbage
              end
              local fields = redis.call('HGETALL', key)
              for i = 1, #fields, 2 do
                local holder, value = fields[i], fields[i + 1]
                local granted, expiresAt = string.match(value, '^(%d+):(%d+)$')
                if not granted then
                  redis.call('HDEL', key, holder)
                  garbage[#garbage + 1] = holder
                elseif tonumber(expiresAt) <= now then
                  redis.call('HDEL', key, holder)
                else
                  grants[holder] = {tonumber(granted), tonumber(expiresAt)}
                end
              end
              return grants, garbage
            end
            """;

    /**
     * KEYS: pool hash. ARGV: instance id, requested, global max, ttl ms. Returns {@code {granted,
     * total, {garbage...}}}. The grant is what is left under the cap once the other live holders'
     * grants are counted, so the sum never goes above it while the cap stays the same.
     */
    static final RedisScript<List> REQUEST_CAPACITY = RedisScript.of(COMMON + LIVE_GRANTS + """
            local key, id = KEYS[1], ARGV[1]
            local requested, cap, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
            local now = nowMillis()
            local grants, garbage = liveGrants(key, now)
            local others, lastExpiry = 0, now + ttl
            for holder, grant in pairs(grants) do
              if holder ~= id then
                others = others + grant[1]
                lastExpiry = math.max(lastExpiry, grant[2])
              end
            end
            local granted = math.max(0, math.min(requested, cap - others))
            redis.call('HSET', key, id, int(granted) .. ':' .. int(now + ttl))
            redis.call('PEXPIREAT', key, int(lastExpiry))
            return {granted, others + granted, garbage}
            """, List.class);

    /** KEYS: pool hash. Returns {@code {{holder, granted, ...}, {garbage...}}}. */
    static final RedisScript<List> CAPACITY = RedisScript.of(COMMON + LIVE_GRANTS + """
            local grants, garbage = liveGrants(KEYS[1], nowMillis())
            local out = {}
            for holder, grant in pairs(grants) do
              out[#out + 1] = holder
              out[#out + 1] = grant[1]
            end
            return {out, garbage}
            """, List.class);

    private RedisScripts() {
    }
}
