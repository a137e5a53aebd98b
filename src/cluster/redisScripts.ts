/** Lua scripts the Redis transport runs: each is atomic on the server. */

/** KEYS: lease. ARGV: owner, ttl ms. Takes a free lease or renews our own: 1, else 0. */
export const LEASE = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;

/** KEYS: lease. ARGV: owner. Lets go of the lease if it is ours. */
export const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * One batch of a partition, all or nothing. KEYS: lease, progress, events, accounts, partition
 * stream, dead letters. ARGV: owner, ttl, partition, prevId, lastId, group, then the counts of
 * events, account pairs, dead-letter pairs and ids to acknowledge, then those values in order.
 * The lease must be ours (a free one is taken back: no one else can have committed since, and
 * the position check below catches it if they had); the committed position must be prevId, or
 * already lastId (this batch was committed and is being relayed again: only acknowledge).
 */
export const COMMIT = `
local owner, ttl, part, prev, last, group = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local ne, na, nd, nk = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], owner, 'PX', ttl)
elseif holder ~= owner then
  return {'lease', holder}
end
local at = redis.call('HGET', KEYS[2], part)
if not at then at = '' end
local i = 11
local acks = i + ne + 2 * na + 2 * nd
local function ack()
  for j = acks, acks + nk - 1, 1000 do
    redis.call('XACK', KEYS[5], group, unpack(ARGV, j, math.min(j + 999, acks + nk - 1)))
  end
end
if at == last then
  ack()
  return {'done', at}
end
if at ~= prev then return {'cursor', at} end
for j = 1, ne do
  redis.call('XADD', KEYS[3], '*', 'e', ARGV[i])
  i = i + 1
end
for j = 1, na, 500 do
  local pairs = {}
  for k = j, math.min(j + 499, na) do
    pairs[#pairs + 1] = ARGV[i]
    pairs[#pairs + 1] = ARGV[i + 1]
    i = i + 2
  end
  redis.call('HSET', KEYS[4], unpack(pairs))
end
for j = 1, nd do
  redis.call('XADD', KEYS[6], '*', 'id', ARGV[i], 'partition', part, 'error', ARGV[i + 1])
  i = i + 2
end
ack()
redis.call('HSET', KEYS[2], part, last)
return {'ok', last}`;

/**
 * KEYS: a partition stream. ARGV: id, line, row text, duplicate ('1' or '0'), per row. Appends
 * the rows in order; a row whose id is not above the stream's newest is already there (a publish
 * run again). Returns {added, already there}.
 */
export const PUBLISH = `
local added, existing = 0, 0
for i = 1, #ARGV, 4 do
  local r
  if ARGV[i + 3] == '1' then
    r = redis.pcall('XADD', KEYS[1], ARGV[i], 'l', ARGV[i + 1], 'r', ARGV[i + 2], 'd', '1')
  else
    r = redis.pcall('XADD', KEYS[1], ARGV[i], 'l', ARGV[i + 1], 'r', ARGV[i + 2])
  end
  if type(r) == 'table' and r.err then
    if string.find(r.err, 'equal or smaller', 1, true) then existing = existing + 1 else return redis.error_reply(r.err) end
  else
    added = added + 1
  end
end
return {added, existing}`;
