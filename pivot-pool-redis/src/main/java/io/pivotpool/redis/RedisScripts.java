package io.pivotpool.redis;

import io.pivotpool.coordinator.support.Plausibility;

/**
 * The Lua scripts behind every multi-step operation. Redis runs a script atomically, so no other
 * client sees a half-done step, and clocks are the server's ({@code TIME}, {@code PEXPIRE}), so the
 * instances' clocks never have to agree.
 *
 * <p><b>Everything read is untrusted.</b> Any tenant of a shared Redis can write under the
 * namespace, so each script checks a key's type, size and every number before it uses them, and
 * reports what it refused (key and description) instead of failing; the Java side logs it. Three
 * rules keep a hostile or corrupt value from stopping the cluster or costing every tenant of the
 * server:
 * <ul>
 * <li>Numbers are plain decimal integers that fit a Java {@code long} ({@link #COMMON isInt}):
 * {@code tonumber} would also take {@code 1e5}, {@code inf}, {@code nan} and {@code 0x10}, and Lua
 * numbers are doubles, exact only up to 2^53. Fencing tokens are therefore compared as strings
 * and incremented with {@code INCR}, which is exact over all 64 bits.</li>
 * <li>A lease (leader, member, grant) expires no later than its own TTL says, and no TTL exceeds
 * {@link #MAX_TTL_MILLIS}: an entry without expiry or beyond it is garbage.</li>
 * <li>The work per call is bounded: no key is read whose length or memory exceeds a limit
 * ({@code HLEN}, {@code ZCARD}, {@code HSTRLEN}, {@code MEMORY USAGE} are O(1) or O(limit) before
 * anything large is copied), and oversized bookkeeping is unlinked (freed off the main thread).</li>
 * </ul>
 */
final class RedisScripts {

    /** The longest lease (leadership, registration, capacity grant) the coordinator writes or accepts. */
    static final long MAX_TTL_MILLIS = Plausibility.MAX_TTL_MILLIS;

    /** The longest instance id (and so lease holder, grant holder, index entry) in bytes. */
    static final int MAX_ID_BYTES = 1024;

    /**
     * The most entries the members index may hold; a larger one is garbage and is rebuilt by
     * heartbeats. Ten times the largest cluster the coordination is measured at (BENCHMARKS.md).
     */
    static final int MAX_MEMBERS = 10_000;

    /** The most fields of one instance hash. */
    static final int MAX_MEMBER_FIELDS = 64;

    /** The most memory ({@code MEMORY USAGE}) of one instance hash. */
    static final int MAX_MEMBER_BYTES = 64 * 1024;

    /**
     * The most bytes of ids, field names and values one listing returns: 400 bytes for each of
     * {@link #MAX_MEMBERS} instances, about twice what this library registers; a registration may
     * be larger (16 KiB), but only a few of them fit.
     */
    static final int MAX_LISTING_BYTES = 4 * 1024 * 1024;

    /** The most memory of the members index. */
    static final int MAX_INDEX_BYTES = 16 * 1024 * 1024;

    /** The most holders of one pool's grants, as many as there may be members. */
    static final int MAX_GRANTS = MAX_MEMBERS;

    /** The most memory of one pool's grants. */
    static final int MAX_GRANTS_BYTES = 16 * 1024 * 1024;

    /** The most expired grants one capacity call reaps; the rest wait for the next calls, counted meanwhile. */
    static final int MAX_REAPED = 256;

    /** A pool's ledger is rebuilt after this many calls per holder, whatever its checks say ({@link #LEDGER}). */
    static final int AUDIT_EVERY = 4;

    /**
     * The longest value a round reads ({@link #ROUND}); a longer one is left out and reported. A
     * round reads the leader's targets, under 128 bytes each.
     */
    static final int MAX_ROUND_VALUE_BYTES = 64 * 1024;

    /** A hash field that says how long the lease it belongs to lasts from its last renewal. */
    static final String TTL_FIELD = "ttl";

    private static final String COMMON = """
            local MAX_TTL, MAX_ID = %d, %d
            local function kind(key) return redis.call('TYPE', key).ok end
            local function int(n) return string.format('%%.0f', n) end
            -- The server's time, read once per script: a round runs several steps, and each TIME
            -- costs a call (the steps of one atomic script may as well share one instant).
            local serverTimeRead
            local function serverTime()
              if not serverTimeRead then serverTimeRead = redis.call('TIME') end
              return serverTimeRead
            end
            local function nowMillis()
              local t = serverTime()
              return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            end
            -- The server time in microseconds as an exact decimal string.
            local function nowMicros()
              local t = serverTime()
              return t[1] .. string.format('%%06d', tonumber(t[2]))
            end
            -- A plain non-negative decimal integer that fits a Java long: no sign, exponent, hex,
            -- leading zero, inf or nan. Only such strings are ever given to tonumber or to Java.
            local function isInt(s)
              return type(s) == 'string' and #s > 0 and #s <= 19 and string.find(s, '^%%d+$') ~= nil
                and (#s == 1 or string.byte(s, 1) ~= 48) and (#s < 19 or s <= '9223372036854775807')
            end
            -- For two isInt strings: whether a is the greater number (exact, no doubles).
            local function greater(a, b)
              if #a ~= #b then return #a > #b end
              return a > b
            end
            local function isTtl(s)
              return isInt(s) and tonumber(s) >= 1 and tonumber(s) <= MAX_TTL
            end
            -- Plausibility (core): the longest lifetime a member could have given a record of a kind,
            -- as the caller computed it from its own ttls (a string; not a ttl: not known, MAX_TTL).
            local TTL_FACTOR, TERM_LEAD = %d, %d
            local function longestTtl(longest)
              if not isTtl(longest) then return MAX_TTL end
              return tonumber(longest)
            end
            """.formatted(MAX_TTL_MILLIS, MAX_ID_BYTES, Plausibility.TTL_FACTOR, Plausibility.MAX_TERM_LEAD_MICROS);

    /**
     * Reads a leader hash {@code holder, token, ttl}. Returns {@code 'none'}; {@code 'lease',
     * holder, token, ttl} (an empty holder is a fence: nobody may lead until it lapses); or
     * {@code 'garbage', description}.
     */
    private static final String READ_LEASE = """
            -- Every follower reads the lease every round, so each check costs as few calls as it
            -- can: HLEN says the type (an error reply for anything but a hash) and the size; the
            -- fields' lengths are measured one by one only when the hash is not small.
            -- A lease lasting longer than `longest` ms (see longestTtl) is garbage.
            local function readLease(key, longest)
              local n = redis.pcall('HLEN', key)
              if type(n) ~= 'number' then
                if not string.find(n.err or '', 'WRONGTYPE', 1, true) then error(n.err) end
                return 'garbage', 'a ' .. kind(key) .. ', not a leader lease'
              end
              if n == 0 then return 'none' end
              if n ~= 3 then
                return 'garbage', 'a hash whose fields are not exactly holder, token and ttl'
              end
              if redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0') > 256
                  and (redis.call('HSTRLEN', key, 'holder') > MAX_ID or redis.call('HSTRLEN', key, 'token') > 19
                  or redis.call('HSTRLEN', key, 'ttl') > 19) then
                return 'garbage', 'a lease with oversized fields'
              end
              local f = redis.call('HMGET', key, 'holder', 'token', 'ttl')
              if not (f[1] and f[2] and f[3]) then return 'garbage', 'a hash without holder, token and ttl' end
              if not isInt(f[2]) or f[2] == '0' then
                return 'garbage', 'a lease whose token is not a positive decimal integer of at most 64 bits'
              end
              if not isTtl(f[3]) then return 'garbage', 'a lease whose ttl is not a decimal integer in 1..' .. MAX_TTL end
              if tonumber(f[3]) > longest then
                return 'garbage', 'a lease of ' .. f[3] .. ' ms, more than ' .. TTL_FACTOR
                    .. ' times the leader-ttl this instance runs with, which no member writes'
              end
              local pttl = redis.call('PTTL', key)
              if pttl < 0 then return 'garbage', 'a lease without expiry' end
              if pttl > tonumber(f[3]) then return 'garbage', 'a lease that expires later than its own ttl' end
              return 'lease', f[1], f[2], f[3]
            end
            """;

    /**
     * Acquire or renew. KEYS: leader, term, leader-until. ARGV: instance id, ttl ms (validated by
     * the caller), the longest lease a member writes ({@code Plausibility}). Returns {@code {leads (0|1), holder, token, ttl, {garbage key,
     * description, ...}}}.
     *
     * <p>A new term's token is {@code max(last token + 1, server time in µs)}: it grows with every
     * term like a counter, and keeps growing when Redis lost the counter (a restart without
     * persistence, a failover to a replica that missed the last write), because the clock moved on
     * meanwhile. Above 2^53 it is still exact: {@code INCR} is 64-bit, and the comparison is on
     * strings.
     *
     * <p><b>Plausibility</b> ({@code Plausibility} in core). A lease is believed only if it lasts at
     * most as long as a member writes one and its token is not above the term counter; a counter
     * more than {@code MAX_TERM_LEAD_MICROS} ahead of the server clock (which no term was given: it
     * would only run out) is reset. Anything else is garbage, handled as below.
     *
     * <p><b>Unknown lease state.</b> With no valid term counter (a cold start, or data lost) or a
     * leader key holding garbage, the coordinator cannot tell whether an earlier leader still
     * trusts its term, which it may for one leader-ttl after its last renewal. So no term begins:
     * the script writes a fence (a lease with an empty holder) lasting one ttl, and the next
     * acquisition after it lapses starts a term. This costs one leader-ttl without a leader at the
     * very first start of a namespace and after every loss of its data.
     *
     * <p><b>A leader key gone early.</b> {@code leader-until} (no expiry, so that a {@code volatile-*}
     * eviction policy never takes it) holds the server time until which the last lease written may
     * run. A missing leader key with that time still ahead (the key was evicted or deleted while its
     * holder may still trust it) gets a fence until then; with no {@code leader-until} at all (data
     * lost, or written by a release before it existed) a fence of one ttl.
     */
    private static final String ACQUIRE_STEP = """
            local leader, term, untilKey, id, ttl = KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2]
            local longest = longestTtl(ARGV[3])
            local t = serverTime()
            local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            local state, holder, token, leaseTtl = readLease(leader, longest)
            -- A lease in the right form and lifetime whose token the counter does not cover (the counter
            -- lost, or the token forged): its holder may still trust it, for what it has left.
            local wellFormed = false
            if state == 'lease' and holder ~= '' then
              local counter = redis.pcall('GET', term)
              if type(counter) ~= 'string' or not isInt(counter) or greater(token, counter) then
                state, holder = 'garbage', 'a lease whose token is above the term counter: no term was given it'
                wellFormed = true
              end
            end
            if state == 'lease' then
              if holder ~= id then return {0, holder, token, leaseTtl, {}} end
              redis.call('HSET', leader, 'ttl', ttl)
              redis.call('PEXPIRE', leader, ttl)
              redis.call('SET', untilKey, int(nowMs + tonumber(ttl)))
              return {1, holder, token, ttl, {}}
            end
            local garbage = {}
            local known = (state == 'none')
            -- How long no term may begin: one ttl at least, longer while an earlier lease may still run.
            local fenceMs = tonumber(ttl)
            if state == 'garbage' then
              if wellFormed then
                local left = redis.call('PTTL', leader)
                if left > fenceMs and left <= longest then fenceMs = left end
              end
              garbage[#garbage + 1] = leader
              garbage[#garbage + 1] = holder .. '; no term begins for one leader-ttl'
              redis.call('UNLINK', leader)
            end
            local last = nil
            local termKind = kind(term)
            if termKind == 'string' then
              if redis.call('STRLEN', term) <= 19 then last = redis.call('GET', term) end
              if not isInt(last) then
                last = nil
                garbage[#garbage + 1] = term
                garbage[#garbage + 1] = 'a value that is not a decimal integer of at most 64 bits, not a term counter'
              end
            elseif termKind ~= 'none' then
              garbage[#garbage + 1] = term
              garbage[#garbage + 1] = 'a ' .. termKind .. ', not a term counter'
            end
            local now = t[1] .. string.format('%06d', tonumber(t[2]))
            if last ~= nil and tonumber(last) > tonumber(now) + TERM_LEAD then
              garbage[#garbage + 1] = term
              garbage[#garbage + 1] = 'a term counter (' .. last .. ') more than ' .. TERM_LEAD
                  .. ' µs ahead of the server clock, which no term was given; it was reset'
              last = nil
            end
            if last == nil then
              known = false
              redis.call('UNLINK', term)
              redis.call('SET', term, now)
              last = now
            end
            -- Until when the last lease written may run (leader-until), if that is plausible: read in
            -- every case, so that no fence ends before it and leader-until is never lowered.
            local untilLeft = nil
            local untilText = redis.pcall('GET', untilKey)
            if type(untilText) == 'string' and isInt(untilText) then
              if tonumber(untilText) > nowMs + longest then
                garbage[#garbage + 1] = untilKey
                garbage[#garbage + 1] = 'a lease end further ahead than any lease lasts'
              else
                untilLeft = tonumber(untilText) - nowMs
              end
            end
            if known then
              -- No leader key: a term begins only once the last lease written has run out.
              if untilLeft == nil then
                known = false
              elseif untilLeft > 0 then
                known = false
                garbage[#garbage + 1] = leader
                garbage[#garbage + 1] = 'gone while its lease may still run (evicted or deleted); no term begins for '
                    .. int(untilLeft) .. ' ms'
              end
            end
            if not known then
              if untilLeft ~= nil and untilLeft > fenceMs then fenceMs = untilLeft end
              -- The fence's own ttl covers its expiry, or readers would take it for garbage.
              redis.call('HSET', leader, 'holder', '', 'token', last, 'ttl', int(math.max(tonumber(ttl), fenceMs)))
              redis.call('PEXPIRE', leader, int(fenceMs))
              redis.call('SET', untilKey, int(nowMs + fenceMs))
              return {0, '', last, ttl, garbage}
            end
            local next
            if greater(now, last) then
              redis.call('SET', term, now)
              next = now
            else
              local incremented = redis.pcall('INCR', term)
              if type(incremented) == 'table' and incremented.err then
                return redis.error_reply('PIVOT term counter ' .. term .. ' is exhausted: ' .. incremented.err)
              end
              next = redis.call('GET', term)
            end
            redis.call('HSET', leader, 'holder', id, 'token', next, 'ttl', ttl)
            redis.call('PEXPIRE', leader, ttl)
            redis.call('SET', untilKey, int(nowMs + tonumber(ttl)))
            return {1, id, next, ttl, garbage}
            """;

    static final LuaScript ACQUIRE_LEADERSHIP = new LuaScript("acquire-leadership", COMMON + READ_LEASE + ACQUIRE_STEP);

    /**
     * KEYS: leader, leader-until. ARGV: instance id, token. Returns 1 if that term was ended, else 0.
     * The holder stopped trusting its term before it asked, so the next may begin at once.
     */
    static final LuaScript RELEASE_LEADERSHIP = new LuaScript("release-leadership", COMMON + READ_LEASE + """
            local state, holder, token = readLease(KEYS[1], MAX_TTL)
            if state == 'lease' and holder == ARGV[1] and token == ARGV[2] then
              redis.call('DEL', KEYS[1])
              redis.call('SET', KEYS[2], int(nowMillis()))
              return 1
            end
            return 0
            """);

    /**
     * KEYS: leader. ARGV: the longest lease a member writes (empty: not known). Returns {@code {'none'}}
     * (nobody leads, a fence included), {@code {'lease', holder, token, ttl}} or {@code {'garbage',
     * description}}. Reads only: the next acquisition replaces garbage.
     */
    private static final String CURRENT_LEADER_STEP = """
            local state, holder, token, ttl = readLease(KEYS[1], longestTtl(ARGV[1]))
            if state == 'lease' and holder ~= '' then return {'lease', holder, token, ttl} end
            if state == 'garbage' then return {'garbage', holder} end
            return {'none'}
            """;

    static final LuaScript CURRENT_LEADER = new LuaScript("current-leader", COMMON + READ_LEASE + CURRENT_LEADER_STEP);

    /**
     * Drops index entries that expired or that no registration could have written (expiring more
     * than {@code longest} ms ahead: see {@code longestTtl}), at most {@code MAX_MEMBERS} of each
     * per call; returns how many of the second kind there were.
     */
    private static final String PRUNE_INDEX = """
            local MAX_MEMBERS = %d
            local function pruneIndex(members, now, longest)
              local expired = redis.call('ZRANGEBYSCORE', members, '-inf', int(now), 'LIMIT', 0, MAX_MEMBERS)
              if #expired > 0 then redis.call('ZREM', members, unpack(expired)) end
              local beyond = redis.call('ZRANGEBYSCORE', members, '(' .. int(now + longest), '+inf', 'LIMIT', 0, MAX_MEMBERS)
              if #beyond > 0 then redis.call('ZREM', members, unpack(beyond)) end
              return #beyond, #expired
            end
            -- The membership's version changes whenever an entry joins or leaves the index, or an
            -- instance's fields change, so that a listing can be skipped while it stays the same. A
            -- version is the server time in microseconds: a reset (data lost) never brings back one
            -- a coordinator still holds.
            -- The version as this coordinator writes it (at most 17 bytes), or nil: another value
            -- is never copied into the script, and the next change overwrites it.
            local function versionOf(version)
              local n = redis.pcall('STRLEN', version)
              if type(n) ~= 'number' or n == 0 or n > 24 then return nil end
              return redis.call('GET', version)
            end
            local function bumpVersion(version)
              local v = nowMicros()
              if versionOf(version) == v then v = v .. '+' end
              redis.call('SET', version, v, 'PX', MAX_TTL)
            end
            -- Whether the index is a sorted set small enough to read; if not, it is unlinked (heartbeats
            -- rebuild it). Its memory is measured only when it is read whole (measuring walks every
            -- entry): a heartbeat's check stays O(1), so that N heartbeats cost O(N), not O(N^2).
            local function checkIndex(members, whole)
              local k = kind(members)
              if k == 'none' then return true, '' end
              local why
              if k ~= 'zset' then
                why = 'a ' .. k .. ', not a sorted set of members'
              elseif redis.call('ZCARD', members) > MAX_MEMBERS then
                why = 'a sorted set of more than ' .. MAX_MEMBERS .. ' entries'
              elseif whole and redis.call('MEMORY', 'USAGE', members, 'SAMPLES', '0') > %d then
                why = 'a sorted set larger than %d bytes'
              end
              if why then
                redis.call('UNLINK', members)
                return false, why
              end
              return true, ''
            end
            """.formatted(MAX_MEMBERS, MAX_INDEX_BYTES, MAX_INDEX_BYTES);

    /**
     * Register or heartbeat. KEYS: members, member, membership version. ARGV: instance id, ttl ms,
     * fields changed since this coordinator last wrote them (0|1), the longest registration a member
     * writes ({@code Plausibility}: index entries expiring later are dropped), field, value, ...
     * (validated by the caller). Returns {@code {{garbage key, description, ...}, conflict}}: conflict
     * is empty, or the start time another process registered this id with since this one last
     * wrote it, which a heartbeat found and overwrote.
     */
    private static final String REGISTER_STEP = """
            local members, member, version, id, ttl = KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2]
            local garbage = {}
            local t = serverTime()
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            -- A heartbeat only extends what it wrote before; the hash is written whole when its
            -- fields changed or it is gone (a listing drops a hash that is not an instance's).
            -- A heartbeat also checks that the hash still says when this instance started: another
            -- start time means another live process registers with this id (it wrote the hash
            -- since), and two processes with one id would share its grants and its leadership. The
            -- hash is written back, so that the other one finds out too, and the caller is told.
            local conflict = ''
            local rewrite = ARGV[3] == '1' or redis.call('PEXPIRE', member, ttl) == 0
            if not rewrite then
              local own
              for i = 5, #ARGV - 1, 2 do
                if ARGV[i] == 'startedAt' then own = ARGV[i + 1] end
              end
              local stored = redis.pcall('HGET', member, 'startedAt')
              if own and stored ~= own then
                -- Anything but another start time is garbage, which the rewrite heals.
                if type(stored) == 'string' and isInt(stored) then conflict = stored end
                rewrite = true
              end
            end
            if rewrite then
              redis.call('UNLINK', member)
              redis.call('HSET', member, 'ttl', ttl, unpack(ARGV, 5))
              redis.call('PEXPIRE', member, ttl)
            end
            -- The index's type is checked by ZADD's own error reply, its size only where the index is
            -- pruned (newcomers, about one heartbeat in sixteen, the leader's listings): a heartbeat
            -- of a steady member costs four calls.
            local why
            local added = redis.pcall('ZADD', members, int(now + tonumber(ttl)), id)
            if type(added) ~= 'number' then
              -- Only the wrong type is garbage; any other error (a refused permission) fails loudly
              -- before anything is unlinked.
              if not string.find(added.err or '', 'WRONGTYPE', 1, true) then error(added.err) end
              why = 'a ' .. kind(members) .. ', not a sorted set of members'
            end
            local prune = added == 1 or tonumber(t[2]) %% 16 == 0
            if not why and prune and redis.call('ZCARD', members) > MAX_MEMBERS then
              why = 'a sorted set of more than ' .. MAX_MEMBERS .. ' entries'
            end
            if why then
              redis.call('UNLINK', members)
              garbage[#garbage + 1] = members
              garbage[#garbage + 1] = why .. '; it was rebuilt'
              added = redis.call('ZADD', members, int(now + tonumber(ttl)), id)
            end
            local changed = added == 1 or ARGV[3] == '1' or why ~= nil
            -- Expired entries are dropped by the leader's listings, by newcomers, and by about one
            -- heartbeat in sixteen: in a steady fleet the index stays clean at a fraction of the cost.
            if prune then
              local beyond, expired = pruneIndex(members, now, longestTtl(ARGV[4]))
              changed = changed or expired > 0 or beyond > 0
              if beyond > 0 then
                garbage[#garbage + 1] = members
                garbage[#garbage + 1] = beyond .. ' entries expiring later than ' .. TTL_FACTOR
                    .. ' times the instance-ttl this instance runs with; they were dropped'
              end
            end
            if changed then bumpVersion(version) end
            -- The index lives at least as long as its longest valid entry (ours at least). When it
            -- would end before ours, it is set to that entry's end or to twice our ttl, whichever is
            -- later, so that about one heartbeat per ttl writes it instead of every one; an index of
            -- expired entries outlives its last member by less than twice the ttl.
            local left = redis.call('PTTL', members)
            if left < tonumber(ttl) then
              local last = redis.call('ZREVRANGEBYSCORE', members, int(now + math.max(tonumber(ttl), longestTtl(ARGV[4]))),
                  '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
              redis.call('PEXPIREAT', members, int(math.max(tonumber(last[2]), now + 2 * tonumber(ttl))))
            end
            return {garbage, conflict}
            """.formatted();

    static final LuaScript REGISTER = new LuaScript("register", COMMON + PRUNE_INDEX + REGISTER_STEP);

    /** KEYS: members, member, membership version. ARGV: instance id. */
    static final LuaScript UNREGISTER = new LuaScript("unregister", COMMON + PRUNE_INDEX + """
            if kind(KEYS[1]) == 'zset' and redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then bumpVersion(KEYS[3]) end
            return redis.call('UNLINK', KEYS[2])
            """);

    /**
     * KEYS: members, membership version. ARGV: member key prefix, the version of the caller's last
     * listing (empty: none), how many were live then, the longest registration a member writes
     * ({@code Plausibility}; empty: not known): an entry or hash lasting longer is garbage; then the
     * ids to read again (a slice of the caller's listing).
     *
     * <p>If the version is the same and as many entries are live, nobody joined, left or changed
     * fields (an expiry lowers the count, everything else changes the version), and the caller's
     * listing still holds at the cost of two reads instead of several per member. The ids to read
     * again are then checked like any member and returned, {@code {'same', {{id, field, value,
     * ...}, ...}}}: the caller re-reads its listing a slice per call instead of all of it at once
     * (which at a thousand members held Redis for about 10 ms and was a leader's slowest round),
     * so that a hash changed or removed by hand is still seen. If one of them is gone or garbage,
     * the whole listing follows instead.
     *
     * <p>Otherwise drops expired and impossible entries, then returns {@code {{{id, field, value,
     * ...}, ...}, {garbage key, description, ...}, version, live count}} for the valid live
     * instances (without the ttl field). An instance whose hash is garbage (no expiry, one beyond
     * its own ttl, too many fields, too large) loses its entry and its hash; its owner's next
     * heartbeat writes both anew. The reply is bounded in bytes ({@link #MAX_LISTING_BYTES}):
     * instances beyond it are left out of this listing and reported.
     */
    static final LuaScript LIVE_INSTANCES = new LuaScript("live-instances", COMMON + PRUNE_INDEX + """
            local members, version, prefix, known, knownCount = KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3]
            local longest, budget, left = longestTtl(ARGV[4]), %d, 0
            -- Entries expiring too late count too: one planted changes the count, and the listing that
            -- follows drops it.
            local function live(now) return redis.call('ZCOUNT', members, '(' .. int(now), '+inf') end
            -- One member, with its index entry's score (its expiry): returns its entry {id, field,
            -- value, ...} and size, or nil and 'gone', or nil and why it is garbage. Four calls: HLEN
            -- says the type (an error reply for anything but a hash) and the count, MEMORY USAGE
            -- bounds what HGETALL copies, and the ttl field comes out of HGETALL.
            local function readMember(id, score, now)
              local key = prefix .. id
              if #id > MAX_ID then return nil, 'an entry whose id is longer than ' .. MAX_ID .. ' bytes' end
              local n = redis.pcall('HLEN', key)
              if type(n) ~= 'number' then
                -- Only the wrong type is garbage: an error such as a refused permission must not
                -- drop every member, so it fails the listing instead.
                if not string.find(n.err or '', 'WRONGTYPE', 1, true) then error(n.err) end
                return nil, 'a ' .. kind(key) .. ', not an instance hash'
              end
              if n == 0 then return nil, 'gone' end
              if n > %d then return nil, 'an instance hash with more than %d fields' end
              if redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0') > %d then
                return nil, 'an instance hash larger than %d bytes'
              end
              local fields = redis.call('HGETALL', key)
              local ttl
              for j = 1, #fields, 2 do
                if fields[j] == 'ttl' then ttl = fields[j + 1] end
              end
              local pttl = redis.call('PTTL', key)
              if not isTtl(ttl) then return nil, 'an instance hash without a valid ttl field' end
              if pttl < 0 then return nil, 'an instance hash without expiry' end
              if pttl > tonumber(ttl) or score - now > tonumber(ttl) + 1 then
                return nil, 'an instance that expires later than its own ttl'
              end
              if tonumber(ttl) > longest then
                return nil, 'an instance whose ttl is more than ' .. TTL_FACTOR
                    .. ' times the instance-ttl this instance runs with, which no member writes'
              end
              local entry, size = {id}, #id
              for j = 1, #fields, 2 do
                if fields[j] ~= 'ttl' then
                  entry[#entry + 1] = fields[j]
                  entry[#entry + 1] = fields[j + 1]
                  size = size + #fields[j] + #fields[j + 1]
                end
              end
              return entry, size
            end
            if known ~= '' and kind(members) == 'zset' and versionOf(version) == known
                and live(nowMillis()) == tonumber(knownCount) then
              local now, again, intact = nowMillis(), {}, true
              for i = 5, #ARGV do
                local score = redis.call('ZSCORE', members, ARGV[i])
                local entry, size
                if score then entry, size = readMember(ARGV[i], tonumber(score), now) end
                if not entry then
                  intact = false
                  break
                end
                if size <= budget then
                  budget = budget - size
                  again[#again + 1] = entry
                end
              end
              if intact then return {'same', again} end
            end
            local function current()
              local v = versionOf(version)
              if not v then
                bumpVersion(version)
                v = redis.call('GET', version)
              end
              return v
            end
            local out, garbage = {}, {}
            local ok, why = checkIndex(members, true)
            if not ok then
              garbage[#garbage + 1] = members
              garbage[#garbage + 1] = why .. '; heartbeats rebuild it'
              bumpVersion(version)
              return {out, garbage, current(), 0}
            end
            if kind(members) == 'none' then return {out, garbage, current(), 0} end
            local now = nowMillis()
            local beyond, expired = pruneIndex(members, now, longest)
            local changed = beyond > 0 or expired > 0
            if beyond > 0 then
              garbage[#garbage + 1] = members
              garbage[#garbage + 1] = beyond .. ' entries expiring later than ' .. TTL_FACTOR
                  .. ' times the instance-ttl this instance runs with; they were dropped'
            end
            local entries = redis.call('ZRANGE', members, 0, -1, 'WITHSCORES')
            for i = 1, #entries, 2 do
              local id = entries[i]
              local entry, size = readMember(id, tonumber(entries[i + 1]), now)
              if entry then
                if size > budget then
                  left = left + 1
                else
                  budget = budget - size
                  out[#out + 1] = entry
                end
              elseif size == 'gone' then
                redis.call('ZREM', members, id)
                changed = true
              else
                redis.call('ZREM', members, id)
                changed = true
                if #id <= MAX_ID then redis.call('UNLINK', prefix .. id) end
                garbage[#garbage + 1] = (#id <= MAX_ID) and (prefix .. id) or members
                garbage[#garbage + 1] = size .. '; it was dropped'
              end
            end
            if left > 0 then
              garbage[#garbage + 1] = members
              garbage[#garbage + 1] = left .. ' instances left out of a listing beyond %d bytes'
            end
            if changed then bumpVersion(version) end
            return {out, garbage, current(), live(now)}
            """.formatted(MAX_LISTING_BYTES, MAX_MEMBER_FIELDS, MAX_MEMBER_FIELDS, MAX_MEMBER_BYTES, MAX_MEMBER_BYTES,
            MAX_LISTING_BYTES));

    /**
     * KEYS: key. ARGV: expect present (0|1), expected, write new (0|1), new value, ttl ms (0: none).
     * Returns 1 if replaced, 0 if the value differed, -1 if the key holds a non-string. A value of
     * another length is never copied into the script.
     */
    static final LuaScript COMPARE_AND_SET = new LuaScript("compare-and-set", COMMON + """
            local keyKind = kind(KEYS[1])
            if keyKind ~= 'string' and keyKind ~= 'none' then return -1 end
            if ARGV[1] == '0' then
              if keyKind == 'string' then return 0 end
            elseif keyKind == 'none' or redis.call('STRLEN', KEYS[1]) ~= #ARGV[2]
                or redis.call('GET', KEYS[1]) ~= ARGV[2] then
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
            """);

    /**
     * The shared part of the capacity scripts: drops expired grants and garbage of the pool hash
     * {@code key}, and returns the live grants by holder plus {@code {garbage key, description,
     * ...}}. A grant is {@code granted:expiresAtMillis}, both plain decimals, granted at most
     * 2^31 - 1 (a Java int) and expiring within the longest ttl; anything else is dropped.
     */
    private static final String LIVE_GRANTS = """
            -- How far ahead a grant may expire: set by a request (longestTtl).
            local grantTtlLimit = MAX_TTL
            local function liveGrants(key, now)
              local grants, garbage = {}, {}
              local k = kind(key)
              if k == 'none' then return grants, garbage end
              local why
              if k ~= 'hash' then
                why = 'a ' .. k .. ', not a hash of grants'
              elseif redis.call('HLEN', key) > %d then
                why = 'a hash of more than %d grants'
              elseif redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0') > %d then
                why = 'a hash of grants larger than %d bytes'
              end
              if why then
                redis.call('UNLINK', key)
                garbage[#garbage + 1] = key
                garbage[#garbage + 1] = why .. '; it was dropped'
                return grants, garbage
              end
              local fields = redis.call('HGETALL', key)
              for i = 1, #fields, 2 do
                local holder, value = fields[i], fields[i + 1]
                local granted, expiresAt = string.match(value, '^(%%d+):(%%d+)$')
                if #holder == 0 or #holder > MAX_ID or not isInt(granted) or #granted > 10
                    or tonumber(granted) > 2147483647 or not isInt(expiresAt)
                    or tonumber(expiresAt) > now + MAX_TTL then
                  redis.call('HDEL', key, holder)
                  garbage[#garbage + 1] = key
                  garbage[#garbage + 1] = 'a grant that is not granted:expiresAt within limits (holder '
                      .. string.sub(holder, 1, 64) .. '); it was dropped'
                elseif tonumber(expiresAt) > now + grantTtlLimit then
                  redis.call('HDEL', key, holder)
                  garbage[#garbage + 1] = key
                  garbage[#garbage + 1] = 'a grant expiring more than ' .. TTL_FACTOR
                      .. ' times the instance-ttl this instance runs with ahead, which no member writes (holder '
                      .. string.sub(holder, 1, 64) .. '); it was dropped'
                elseif tonumber(expiresAt) <= now then
                  redis.call('HDEL', key, holder)
                else
                  grants[holder] = {tonumber(granted), tonumber(expiresAt)}
                end
              end
              return grants, garbage
            end
            """.formatted(MAX_GRANTS, MAX_GRANTS, MAX_GRANTS_BYTES, MAX_GRANTS_BYTES);

    /**
     * The ledger of one pool's grants: the hash of grants ({@link #LIVE_GRANTS}), an index of its
     * holders by expiry (sorted set) and the running sum of its grants (string), all three kept in
     * step by every capacity script, so that a request costs O(log N) inside Redis instead of
     * reading and summing every grant: expired grants are reaped from the front of the index (at
     * most {@link #MAX_REAPED} a call; one not reaped yet is still counted, which can only make a
     * grant smaller, never the sum larger), and the others' sum is the running sum less the
     * caller's own grant.
     *
     * <p>Whether the three agree is checked in O(1) on every call (types, hash length equal to
     * index length, a plain decimal sum); a grant touched on the way (the caller's, a reaped one)
     * must parse and expire when the index says. Anything else (eviction of one of the keys,
     * tampering, a value of an old release) makes the call rebuild the ledger from the hash,
     * validating every grant as {@link #LIVE_GRANTS} does: O(N) once, then O(log N) again.
     *
     * <p>A sum that is well formed but wrong (written by hand, or by a tenant of a shared server)
     * passes those checks, so a call also audits the ledger (rebuilds it all the same) with a
     * chance of one in {@link #AUDIT_EVERY} times the number of holders, drawn from the server
     * clock's microseconds: with every holder calling once a round, a pool is audited about every
     * {@link #AUDIT_EVERY} rounds, which keeps the cost per call O(1) amortised and a forged sum
     * believed for a few rounds at most. The sum is written only when it changes: each
     * {@code redis.call} costs a script more than most commands it runs.
     */
    private static final String LEDGER = """
            local AUDIT_EVERY = %d
            -- Whether the sum must be written: it changed, or the ledger was rebuilt.
            local ledgerDirty = false
            -- How many grants the ledger held when last read (less those reaped since).
            local ledgerHolders = 0
            -- Returns the sum and the live grants; expireLedger then stores the sum.
            local function rebuild(key, index, total, now, garbage)
              ledgerDirty = true
              local grants, dropped = liveGrants(key, now)
              for i = 1, #dropped do garbage[#garbage + 1] = dropped[i] end
              redis.call('DEL', index, total)
              local sum = 0
              ledgerHolders = 0
              for holder, grant in pairs(grants) do
                redis.call('ZADD', index, int(grant[2]), holder)
                sum = sum + grant[1]
                ledgerHolders = ledgerHolders + 1
              end
              return sum, grants
            end
            -- A grant as the hash holds it: {granted, expiresAt}, or nil when it is not one.
            local function grantOf(value, now)
              if not value then return nil end
              local granted, expiresAt = string.match(value, '^(%%d+):(%%d+)$')
              if not isInt(granted) or #granted > 10 or tonumber(granted) > 2147483647 or not isInt(expiresAt)
                  or tonumber(expiresAt) > now + grantTtlLimit then
                return nil
              end
              return {tonumber(granted), tonumber(expiresAt)}
            end
            -- The running sum of the pool's grants after reaping expired ones; rebuilds the ledger
            -- first when its three keys disagree.
            -- Each redis.call from a script costs more than most commands it runs, so the
            -- checks lean on the commands' own type errors (pcall) instead of a TYPE per key.
            local function ledger(key, index, total, now, micros, garbage)
              local length = redis.pcall('HLEN', key)
              local indexed = redis.pcall('ZCARD', index)
              local consistent = type(length) == 'number' and type(indexed) == 'number'
              local sum = 0
              if consistent then
                if length ~= indexed or length > %d then
                  consistent = false
                elseif length > 0 then
                  local text = redis.pcall('GET', total)
                  if type(text) ~= 'string' or not isInt(text) or #text > 15
                      or micros %% (AUDIT_EVERY * length) == 0 then
                    consistent = false
                  else
                    sum = tonumber(text)
                  end
                end
              end
              if not consistent then return rebuild(key, index, total, now, garbage) end
              ledgerHolders = length
              local expired = redis.call('ZRANGEBYSCORE', index, '-inf', int(now), 'WITHSCORES', 'LIMIT', 0, %d)
              for i = 1, #expired, 2 do
                local holder = expired[i]
                local grant = grantOf(redis.call('HGET', key, holder), now)
                if not grant or grant[2] ~= tonumber(expired[i + 1]) then
                  return rebuild(key, index, total, now, garbage)
                end
                redis.call('HDEL', key, holder)
                redis.call('ZREM', index, holder)
                sum = sum - grant[1]
                ledgerHolders = ledgerHolders - 1
                ledgerDirty = true
              end
              if sum < 0 then return rebuild(key, index, total, now, garbage) end
              return sum
            end
            -- The caller's own grant, which the hash and the index must agree on and the sum must
            -- cover (else the ledger is rebuilt): returns the sum and the grant, or nil when it holds none.
            local function ownGrant(key, index, total, id, sum, now, garbage)
              local own = grantOf(redis.call('HGET', key, id), now)
              local score = redis.call('ZSCORE', index, id)
              if (own == nil) ~= (score == false) or (own and own[2] ~= tonumber(score))
                  or (own and sum < own[1]) then
                sum = rebuild(key, index, total, now, garbage)
                own = grantOf(redis.call('HGET', key, id), now)
              end
              return sum, own
            end
            -- Every key of the ledger lives at least as long as its longest grant. Expiries are only
            -- ever extended, each time to twice the caller's ttl (or the longest grant, if later),
            -- so that about every other call only looks (PTTL) instead of writing three expiries.
            -- An empty ledger is removed.
            local function expireLedger(key, index, total, sum, changed, now, ttl)
              -- A request has just indexed the caller's grant: only a release can leave it empty.
              if not ttl and redis.call('ZCARD', index) == 0 then
                redis.call('DEL', key, index, total)
                return
              end
              if changed or ledgerDirty then redis.call('SET', total, int(sum), 'KEEPTTL') end
              local want = ttl or 0
              local left = redis.call('PTTL', total)
              if left < 0 or left < want then
                local last = redis.call('ZREVRANGEBYSCORE', index, '+inf', '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
                local expiry = int(math.max(tonumber(last[2]), now + 2 * want))
                redis.call('PEXPIREAT', key, expiry)
                redis.call('PEXPIREAT', index, expiry)
                redis.call('PEXPIREAT', total, expiry)
              end
            end
            """.formatted(AUDIT_EVERY, MAX_GRANTS, MAX_REAPED);

    /**
     * KEYS: pool hash, its expiry index, its running sum. ARGV: instance id, requested, global
     * max, ttl ms (validated by the caller), the longest grant a member writes ({@code
     * Plausibility}: a grant expiring later is garbage), the number of holders the caller was last
     * told, or empty. Returns {@code {granted, total, {garbage...}, renewed (0|1), holders}}: renewed
     * when the caller's previous grant was still live; holders, how many grants the pool holds (as
     * last read), for the caller's next request. The grant is what is left
     * under the cap once the other holders' grants are counted ({@link #LEDGER}, O(log N)), so the
     * sum never goes above it while the cap stays the same. Every number stays below 2^53 (at most
     * {@link #MAX_GRANTS} grants of at most 2^31 - 1), so the Lua doubles are exact.
     *
     * <p><b>Renewed at half life.</b> A grant is written with a lease of twice the ttl
     * ({@link #grantLeaseMillis}) and only rewritten when less than the ttl is left, or when it
     * changes: a request that would record the same grant (it equals the request and the pool's sum
     * is within the cap) while at least the ttl is left only reads the grant and the sum (and the
     * hash's length when the caller knows no number of holders). Either way the grant lives at
     * least the ttl after every request, which is all its holder trusts, and a follower whose grant holds writes it one round in about four instead of
     * every round (a quarter fewer commands per round, and fewer writes for replicas and an
     * append-only file: BENCHMARKS.md, round four). The price: the share of an instance that died
     * without releasing it is freed up to twice the ttl after its last request instead of once.
     */
    private static final String REQUEST_STEP = """
            ledgerDirty = false
            grantTtlLimit = longestTtl(ARGV[5])
            local key, index, total, id = KEYS[1], KEYS[2], KEYS[3], ARGV[1]
            local requested, cap, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
            local t = serverTime()
            local now, micros = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), tonumber(t[2])
            local garbage = {}
            local lease = math.min(2 * ttl, MAX_TTL)
            -- The same grant again with at least the ttl left: nothing to write. The reads only
            -- trust values in the form written, and this path audits the ledger as often as the
            -- full step does (LEDGER), so that a forged sum is not believed for longer while every
            -- holder's grant holds; anything else takes the full step, which checks and heals.
            -- The audit's odds take the number of holders the caller was last told (ARGV[6]),
            -- when it has one, instead of the hash's length: one call fewer on the path three
            -- requests in four take. A hint that is stale, or forged, changes only how often the
            -- ledger is audited, never a grant.
            local held = redis.pcall('HGET', key, id)
            local kept = type(held) == 'string' and grantOf(held, now)
            if kept and kept[1] == requested and kept[2] - now >= ttl then
              local text, length = redis.pcall('GET', total), tonumber(ARGV[6] or '')
              if not (length and length >= 1 and length == math.floor(length)) then
                length = redis.pcall('HLEN', key)
              end
              if type(text) == 'string' and isInt(text) and #text <= 15 and type(length) == 'number'
                  and length <= %d and micros %% (AUDIT_EVERY * math.max(1, length)) ~= 0 then
                local sum = tonumber(text)
                if sum >= kept[1] and sum <= cap then return {kept[1], sum, garbage, 1, length} end
              end
            end
            local sum, own = ownGrant(key, index, total, id, ledger(key, index, total, now, micros, garbage), now, garbage)
            local others = sum - (own and own[1] or 0)
            local renewed = (own and own[2] > now) and 1 or 0
            if not own and redis.call('ZCARD', index) >= %d then
              return {0, others, garbage, renewed, ledgerHolders}
            end
            local granted = math.max(0, math.min(requested, cap - others))
            redis.call('HSET', key, id, int(granted) .. ':' .. int(now + lease))
            redis.call('ZADD', index, int(now + lease), id)
            expireLedger(key, index, total, others + granted, others + granted ~= sum, now, lease)
            return {granted, others + granted, garbage, renewed, ledgerHolders + (own and 0 or 1)}
            """.formatted(MAX_GRANTS, MAX_GRANTS);

    /**
     * The lease a grant requested for {@code ttlMillis} is written with ({@link #REQUEST_STEP}):
     * twice the ttl, at most {@link #MAX_TTL_MILLIS}.
     */
    static long grantLeaseMillis(long ttlMillis) {
        return Math.min(2 * ttlMillis, MAX_TTL_MILLIS);
    }

    static final LuaScript REQUEST_CAPACITY = new LuaScript("request-capacity", COMMON + LIVE_GRANTS + LEDGER
            + REQUEST_STEP);

    /** Gives back a holder's grant, keeping the ledger in step: shared by the release scripts. */
    private static final String RELEASE = """
            -- Returns whether id held a grant of the pool; notes garbage met on the way.
            local function releaseGrant(key, index, total, id, garbage)
              local now = nowMillis()
              local sum, own = ownGrant(key, index, total, id, ledger(key, index, total, now, 1, garbage), now, garbage)
              if own then
                redis.call('HDEL', key, id)
                redis.call('ZREM', index, id)
                sum = sum - own[1]
              end
              expireLedger(key, index, total, sum, own ~= nil, now, nil)
              return own ~= nil
            end
            """;

    /** KEYS: pool hash, its expiry index, its running sum. ARGV: instance id. Returns {@code {garbage...}}. */
    static final LuaScript RELEASE_CAPACITY = new LuaScript("release-capacity", COMMON + LIVE_GRANTS + LEDGER + RELEASE
            + """
            local garbage = {}
            releaseGrant(KEYS[1], KEYS[2], KEYS[3], ARGV[1], garbage)
            return garbage
            """);

    /**
     * The leader's reaping ({@code Coordinator.releaseCapacityOfNonMember}): gives back the holder's
     * grant only if the holder is not a member, checked in the same script. KEYS: pool hash, its
     * expiry index, its running sum, the members index, the holder's registration. ARGV: the
     * holder. A registration that exists, or an index entry not yet expired (or not readable as
     * one), counts as a member: the grant is kept. Returns {@code {released (0|1), {garbage...}}}.
     */
    static final LuaScript RELEASE_NON_MEMBER_CAPACITY = new LuaScript("release-non-member-capacity", COMMON
            + LIVE_GRANTS + LEDGER + RELEASE + """
            local members, member, id = KEYS[4], KEYS[5], ARGV[1]
            if redis.call('PTTL', member) ~= -2 then return {0, {}} end
            local score = redis.pcall('ZSCORE', members, id)
            if type(score) == 'table' then
              if not string.find(score.err or '', 'WRONGTYPE', 1, true) then error(score.err) end
              return {0, {}}
            end
            if score then
              local expiresAt = tonumber(score)
              if expiresAt == nil or expiresAt ~= expiresAt or expiresAt > nowMillis() then return {0, {}} end
            end
            local garbage = {}
            local released = releaseGrant(KEYS[1], KEYS[2], KEYS[3], id, garbage)
            return {released and 1 or 0, garbage}
            """);

    /**
     * KEYS: pool hash, its expiry index, its running sum. Returns {@code {{holder, granted, ...},
     * {garbage...}}}: the live grants. Reads every grant (O(N)): for the status, tests and the
     * leader's reaping of non-members' grants (one pool per leader round). The ledger is checked
     * and healed as a request does ({@link #LEDGER}: rebuilt only when its keys disagree, or at an
     * audit), then the hash is read: a leader reading a pool of a thousand holders every round
     * writes nothing while the ledger holds. A grant not in the form written is left out (the next
     * rebuild drops it).
     */
    static final LuaScript CAPACITY = new LuaScript("capacity", COMMON + LIVE_GRANTS + LEDGER + """
            local key, index, total = KEYS[1], KEYS[2], KEYS[3]
            local t = serverTime()
            local now, micros = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), tonumber(t[2])
            local garbage = {}
            ledgerDirty = false
            local sum, grants = ledger(key, index, total, now, micros, garbage)
            if not grants then
              grants = {}
              local fields = redis.call('HGETALL', key)
              for i = 1, #fields, 2 do
                local holder, grant = fields[i], grantOf(fields[i + 1], now)
                if grant and grant[2] > now and #holder > 0 and #holder <= MAX_ID then grants[holder] = grant end
              end
            end
            expireLedger(key, index, total, sum, false, now, nil)
            local out = {}
            for holder, grant in pairs(grants) do
              out[#out + 1] = holder
              out[#out + 1] = grant[1]
            end
            return {out, garbage}
            """);

    /**
     * The length check of a bounded read: {@code STRLEN} (O(1); a wrong type is an error reply).
     * {@code readableLength(key, max, refused, reads)} returns the length of the value at
     * {@code key} when a read may take it, or nil after noting in {@code refused} why not (a key of
     * another type, or a value longer than {@code max}, which {@code reads} names). Any other error
     * (a refused permission) fails the script, as a call would.
     */
    private static final String BOUNDED_LENGTH = """
            local function readableLength(key, max, refused, reads)
              local length = redis.pcall('STRLEN', key)
              if type(length) == 'table' then
                if not string.find(length.err or '', 'WRONGTYPE', 1, true) then error(length.err) end
                refused[#refused + 1] = key
                refused[#refused + 1] = 'a ' .. kind(key) .. ', not a value'
                return nil
              end
              if length > max then
                refused[#refused + 1] = key
                refused[#refused + 1] = 'a value of ' .. length .. ' bytes, more than the ' .. max .. ' ' .. reads
                    .. '; it was left unread'
                return nil
              end
              return length
            end
            """;

    /**
     * A follower's whole round in one script ({@code Coordinator.round}): register or heartbeat
     * ({@link #REGISTER}), seek leadership ({@link #ACQUIRE_LEADERSHIP}) or only read the leader
     * ({@link #CURRENT_LEADER}), count the live members, write the values, request every grant
     * ({@link #REQUEST_CAPACITY}), read the values asked for: each step exactly as its own script
     * does it, in one call, because on this machine a round trip costs Redis more CPU than the work
     * of a capacity script (BENCHMARKS.md, "A thousand instances on one server").
     *
     * <p>KEYS: members, member, membership version, leader, term, leader-until, then one per value
     * written, three per grant (the ledger), one per value read. ARGV: instance id, instance ttl ms,
     * leader ttl ms (empty: only read the leader), count members (0|1), value ttl ms, number of
     * values written, of grants, of values read, of registration fields, fields changed (0|1, as
     * {@link #REGISTER} takes it), the longest lease, registration and grant a member writes
     * ({@code Plausibility}); then the fields' names and values, the values written,
     * and requested, global max, ttl ms and holders last told per grant (all validated by the
     * caller). Returns
     * {@code {register's reply, leadership's reply, member count or -1, {request's reply, ...},
     * {value or nil, ...}, {refused key, description, ...}}}: a value longer than
     * {@link #MAX_ROUND_VALUE_BYTES} or of another type is refused, not read ({@code STRLEN} of
     * each, then one {@code MGET} of the others). An exhausted term
     * counter fails the script as the acquisition would.
     */
    static final LuaScript ROUND = new LuaScript("round", COMMON + BOUNDED_LENGTH + READ_LEASE + PRUNE_INDEX + LIVE_GRANTS + LEDGER
            + "local MAX_READ = " + MAX_ROUND_VALUE_BYTES + "\n"
            + "local function registerStep(KEYS, ARGV)\n" + REGISTER_STEP + "end\n"
            + "local function acquireStep(KEYS, ARGV)\n" + ACQUIRE_STEP + "end\n"
            + "local function currentLeaderStep(KEYS, ARGV)\n" + CURRENT_LEADER_STEP + "end\n"
            + "local function requestStep(KEYS, ARGV)\n" + REQUEST_STEP + "end\n" + """
            local id, instanceTtl, leaderTtl, count, valueTtl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
            local writes, grants, reads, fields = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]),
                tonumber(ARGV[9])
            local a, k = 14, 7
            local registration = {id, instanceTtl, ARGV[10], ARGV[12]}
            for i = 1, fields * 2 do
              registration[#registration + 1] = ARGV[a]
              a = a + 1
            end
            local registered = registerStep({KEYS[1], KEYS[2], KEYS[3]}, registration)
            local lease
            if leaderTtl == '' then
              lease = currentLeaderStep({KEYS[4]}, {ARGV[11]})
            else
              lease = acquireStep({KEYS[4], KEYS[5], KEYS[6]}, {id, leaderTtl, ARGV[11]})
              if lease.err then return lease end
            end
            local members = -1
            if count == '1' then
              local now = nowMillis()
              members = redis.call('ZCOUNT', KEYS[1], '(' .. int(now), int(now + longestTtl(ARGV[12])))
            end
            for i = 1, writes do
              redis.call('SET', KEYS[k], ARGV[a], 'PX', valueTtl)
              k, a = k + 1, a + 1
            end
            local granted = {}
            for i = 1, grants do
              granted[i] = requestStep({KEYS[k], KEYS[k + 1], KEYS[k + 2]},
                  {id, ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[13], ARGV[a + 3]})
              k, a = k + 3, a + 4
            end
            -- Each value is read bounded: STRLEN first (O(1); a wrong type is an error reply), then
            -- MGET of those of at most MAX_READ bytes (a GET each cost a follower two calls a
            -- round more with three pools: each redis.call costs a script more than the command it
            -- runs). A round reads records this library writes (targets, under 128 bytes), and a
            -- value planted larger, or of another type, is left out and reported instead of copied
            -- whole into the script and the reply, every round, for as long as it stays. Any other
            -- error (a refused permission) fails the round, as a call would.
            local values, refused, wanted, at = {}, {}, {}, {}
            for i = 1, reads do
              local key = KEYS[k + i - 1]
              values[i] = false
              if readableLength(key, MAX_READ, refused, 'a round reads') then
                wanted[#wanted + 1] = key
                at[#at + 1] = i
              end
            end
            -- In pages, as unpack takes a few thousand values at most.
            for from = 1, #wanted, 512 do
              local to = math.min(#wanted, from + 511)
              local found = redis.call('MGET', unpack(wanted, from, to))
              for j = from, to do values[at[j]] = found[j - from + 1] end
            end
            return {registered, lease, members, granted, values, refused}
            """);

    /**
     * Reads values bounded: {@code STRLEN} of every key first (O(1); a wrong type is an error
     * reply), then one {@code MGET} of the keys whose values have at most the bound's bytes, so
     * that a value planted large under a key the leader reads every round (a member's demand
     * report) is never copied into the script or the reply. One {@code MGET} rather than a
     * {@code GET} per key: each {@code redis.call} costs a script more than the command it runs,
     * and at a thousand members the leader reads three thousand reports a round. KEYS: the keys.
     * ARGV: the bound in bytes. Returns {@code {{value or nil, ...}, {refused key, description,
     * ...}}}; any other error (a refused permission) fails the call.
     */
    static final LuaScript BOUNDED_GET = new LuaScript("bounded-get", COMMON + BOUNDED_LENGTH + """
            local max = tonumber(ARGV[1])
            local values, refused, wanted, at = {}, {}, {}, {}
            for i, key in ipairs(KEYS) do
              values[i] = false
              if readableLength(key, max, refused, 'this read takes') then
                wanted[#wanted + 1] = key
                at[#at + 1] = i
              end
            end
            if #wanted > 0 then
              local found = redis.call('MGET', unpack(wanted))
              for j = 1, #wanted do values[at[j]] = found[j] end
            end
            return {values, refused}
            """);

    private RedisScripts() {
    }
}
