/**
 * Lua scripts run atomically by Redis. Only keys passed in KEYS are touched, and
 * all of them share the cluster's hash tag.
 */

/**
 * Commit desired slices of one or more hosts at once.
 * KEYS: 1 epoch, 2 rev, 3 decky index, 4 ip index, 5 sliced set, 5+i desired key of entry i.
 * ARGV: 1 meta JSON {epoch (-1 = do not check), channel, entries: [{host, expect, del, idx}]},
 *       1+i the slice document of entry i ('' for a deletion).
 * Checks (nothing is written when one fails): epoch, every entry's generation == expect,
 * no decky claimed twice, no fleet/ip claimed by two deckies, no claim of a decky or IP
 * held in the index by a host/decky that this commit does not release.
 * Returns {'ok', epoch, rev} | {'stale', scope, host, expected, actual} | {'collision', what, key, holder}.
 */
export const COMMIT_LUA = `
local meta = cjson.decode(ARGV[1])
local epoch = tonumber(redis.call('GET', KEYS[1]) or '0')
if meta.epoch >= 0 and epoch ~= meta.epoch then return {'stale', 'epoch', '', meta.epoch, epoch} end
local entries = meta.entries
local n = #entries
local olds = {}
for i = 1, n do
  local cur = redis.call('HMGET', KEYS[5 + i], 'gen', 'idx')
  local gen = tonumber(cur[1] or '0')
  if gen ~= entries[i].expect then return {'stale', 'desired', entries[i].host, entries[i].expect, gen} end
  if cur[2] then olds[i] = cjson.decode(cur[2]) else olds[i] = {} end
end
local releasedDecky = {}
local releasedIp = {}
for i = 1, n do
  for _, p in ipairs(olds[i]) do
    releasedDecky[p[1]] = entries[i].host
    releasedIp[p[2]] = true
  end
end
local claimDecky = {}
local claimIp = {}
for i = 1, n do
  local e = entries[i]
  if not e.del then
    for _, p in ipairs(e.idx) do
      local d, k = p[1], p[2]
      if claimDecky[d] then return {'collision', 'decky', d, claimDecky[d]} end
      claimDecky[d] = e.host
      if claimIp[k] and claimIp[k] ~= d then return {'collision', 'ip', k, claimIp[k]} end
      claimIp[k] = d
      local holder = redis.call('HGET', KEYS[3], d)
      if holder and holder ~= e.host and releasedDecky[d] ~= holder then return {'collision', 'decky', d, holder} end
      local ipHolder = redis.call('HGET', KEYS[4], k)
      if ipHolder and ipHolder ~= d and not releasedIp[k] then return {'collision', 'ip', k, ipHolder} end
    end
  end
end
for i = 1, n do
  local h = entries[i].host
  for _, p in ipairs(olds[i]) do
    if redis.call('HGET', KEYS[3], p[1]) == h then redis.call('HDEL', KEYS[3], p[1]) end
    if redis.call('HGET', KEYS[4], p[2]) == p[1] then redis.call('HDEL', KEYS[4], p[2]) end
  end
end
local hosts = {}
for i = 1, n do
  local e = entries[i]
  hosts[i] = e.host
  if e.del then
    redis.call('DEL', KEYS[5 + i])
    redis.call('SREM', KEYS[5], e.host)
  else
    for _, p in ipairs(e.idx) do
      redis.call('HSET', KEYS[3], p[1], e.host)
      redis.call('HSET', KEYS[4], p[2], p[1])
    end
    redis.call('HSET', KEYS[5 + i], 'gen', e.expect + 1, 'doc', ARGV[1 + i], 'idx', cjson.encode(e.idx))
    redis.call('SADD', KEYS[5], e.host)
  end
end
local newEpoch = redis.call('INCR', KEYS[1])
local rev = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', meta.channel, cjson.encode({kind = 'desired', hosts = hosts, rev = rev}))
return {'ok', newEpoch, rev}
`;

/**
 * Write an observed slice if its generation is not older than the stored one.
 * KEYS: 1 observed key, 2 rev. ARGV: 1 generation, 2 doc, 3 report time, 4 channel, 5 host.
 * An identical document only refreshes the report time (no revision, no message).
 * Returns {'ok', rev} | {'same', rev} | {'stale', actual}.
 */
export const OBSERVED_LUA = `
local cur = redis.call('HMGET', KEYS[1], 'gen', 'doc')
local g = tonumber(ARGV[1])
if cur[1] and tonumber(cur[1]) > g then return {'stale', tonumber(cur[1])} end
redis.call('HSET', KEYS[1], 'at', ARGV[3])
if cur[1] and tonumber(cur[1]) == g and cur[2] == ARGV[2] then
  return {'same', tonumber(redis.call('GET', KEYS[2]) or '0')}
end
redis.call('HSET', KEYS[1], 'gen', ARGV[1], 'doc', ARGV[2])
local rev = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[4], cjson.encode({kind = 'observed', hosts = {ARGV[5]}, rev = rev}))
return {'ok', rev}
`;

/**
 * Heartbeat of a registered host. KEYS: 1 heartbeat key, 2 host key, 3 rev.
 * ARGV: 1 time, 2 ttl ms, 3 channel, 4 host. A host coming back (no live heartbeat
 * before) bumps the revision and publishes, so watchers see it Ready at once.
 * Returns {'ok', 0|1 (came back)} | {'unregistered'}.
 */
export const HEARTBEAT_LUA = `
if redis.call('EXISTS', KEYS[2]) == 0 then return {'unregistered'} end
local was = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[2], 'lastHeartbeat', ARGV[1])
if was == 0 then
  local rev = redis.call('INCR', KEYS[3])
  redis.call('PUBLISH', ARGV[3], cjson.encode({kind = 'host', hosts = {ARGV[4]}, rev = rev}))
  return {'ok', 1}
end
return {'ok', 0}
`;

/**
 * Append attacker events to the cluster stream, each at most once.
 * KEYS: 1 stream, 1+i the seen marker of event i. ARGV: 1 max length (approximate),
 * 2 max age ms (approximate, from the server's clock), 3 marker TTL ms, then the id and
 * JSON of event i as ARGV[2+2i], ARGV[3+2i]. An event whose marker exists is skipped (SET NX PX);
 * the stream is trimmed by length on XADD and by age (MINID ~) after.
 * Returns {added, duplicates}.
 */
export const APPEND_EVENTS_LUA = `
local maxLen = ARGV[1]
local maxAge = tonumber(ARGV[2])
local ttl = ARGV[3]
local added, dup = 0, 0
for i = 2, #KEYS do
  local id = ARGV[2 * i]
  local ev = ARGV[2 * i + 1]
  if redis.call('SET', KEYS[i], '1', 'NX', 'PX', ttl) then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxLen, '*', 'id', id, 'ev', ev)
    added = added + 1
  else
    dup = dup + 1
  end
end
local t = redis.call('TIME')
local minId = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - maxAge
if minId > 0 then redis.call('XTRIM', KEYS[1], 'MINID', '~', string.format('%d', minId)) end
return {added, dup}
`;
