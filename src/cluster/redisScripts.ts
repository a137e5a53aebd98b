/** Lua scripts the Redis transport runs: each is atomic on the server, and each touches the keys of one partition (one slot). */

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
 * One chunk of rows published to a partition, at most once. KEYS: partition stream, published
 * lines. ARGV: input number, the chunk's first line, its last line, then the entry's fields.
 * A chunk whose first line is not past the input's published line is already in the stream (a
 * resent command: ioredis sends again a pipeline the connection dropped before any reply, and
 * the server may have run it): 0. Else the entry is added and the published line moves: 1.
 */
export const PUBLISH = `
local at = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if tonumber(ARGV[2]) <= at then return 0 end
redis.call('XADD', KEYS[1], '*', unpack(ARGV, 4))
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1`;

/**
 * One batch of a partition, all or nothing. KEYS: lease, progress, events, accounts, dead
 * letters, changelog, takeover counts, partition stream. ARGV: owner, ttl, partition, prevId, lastId, entries in
 * the batch, the events entry ('' if none), the changelog entry ('' if none), the touched
 * accounts as one argument (`client LF value LF` each: one argument, not two per account, is
 * what the consumer's Redis client sends fastest, and Redis splits it no slower than it takes
 * separate arguments), the count of dead-letter pairs, then those pairs.
 * The lease must be ours (a free one is taken back: no one else can have committed since, and
 * the position check below catches it if they had); the committed position must be prevId, or
 * already lastId (this batch was committed and its reply lost: nothing to do). Consumers read
 * the stream from the committed position on (never through a consumer group), so the batch
 * follows it with no gap, whoever read what before; the entries before the batch's last are
 * then of no more use and trimmed (the last stays: it names the position).
 */
export const COMMIT = `
local owner, ttl, part, prev, last, entries = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local events, changes = ARGV[7], ARGV[8]
local accounts, nd = ARGV[9], tonumber(ARGV[10])
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], owner, 'PX', ttl)
elseif holder ~= owner then
  return {'lease', holder}
end
local at = redis.call('HGET', KEYS[2], 'at')
if not at then at = '' end
if at == last then return {'done', at} end
if at ~= prev then return {'cursor', at} end
if events ~= '' then redis.call('XADD', KEYS[3], '*', 'b', events) end
local cid = ''
if changes ~= '' then cid = redis.call('XADD', KEYS[6], '*', 'c', changes) end
local fields, n = {}, 0
for client, value in string.gmatch(accounts, '([^\\n]*)\\n([^\\n]*)\\n') do
  fields[n + 1], fields[n + 2] = client, value
  n = n + 2
  if n == 1000 then
    redis.call('HSET', KEYS[4], unpack(fields))
    fields, n = {}, 0
  end
end
if n > 0 then redis.call('HSET', KEYS[4], unpack(fields)) end
local i = 11
for j = 1, nd do
  redis.call('XADD', KEYS[5], '*', 'id', ARGV[i], 'partition', part, 'error', ARGV[i + 1])
  i = i + 2
end
redis.call('HSET', KEYS[2], 'at', last)
redis.call('HINCRBY', KEYS[2], 'entries', entries)
redis.call('DEL', KEYS[7])
redis.call('XTRIM', KEYS[8], 'MINID', last)
return {'ok', cid}`;

/**
 * Puts a partition's new snapshot in place (written first to its own key with a plain SET: a
 * large blob costs less outside a script's arguments). KEYS: lease, progress, new snapshot,
 * snapshot, snapshot meta, changelog. ARGV: owner, position, changelog id.
 * Only if the lease is ours and the committed position is the snapshot's: then the changelog up
 * to it is trimmed.
 */
export const SNAPSHOT = `
local owner, position, cid = ARGV[1], ARGV[2], ARGV[3]
local at = redis.call('HGET', KEYS[2], 'at')
if redis.call('GET', KEYS[1]) ~= owner or at ~= position then
  redis.call('DEL', KEYS[3])
  return 0
end
redis.call('RENAME', KEYS[3], KEYS[4])
redis.call('HSET', KEYS[5], 'position', position, 'changes', cid)
if cid ~= '' then redis.call('XTRIM', KEYS[6], 'MINID', cid) end
return 1`;
