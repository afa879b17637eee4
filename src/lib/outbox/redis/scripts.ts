import { createHash } from 'node:crypto';

/**
 * The Lua scripts of the outbox on Redis: each change of a message's state is one script, so it
 * is atomic whichever instance runs it and whenever an instance dies (Redis runs a script whole
 * or not at all). The keys, under `<prefix>outbox:<node id>:` (see queue.ts):
 * - `seq`: the counter that gives each message and each dead letter its id (increasing);
 * - `msgs`: hash id → the message's record (JSON: e enqueuedAt, a attempts, n nextAt, k the
 *   patient's order key, m the msg and l the last error, both sealed);
 * - `all`: sorted set of the waiting ids, scored by id (the pages, the count, the oldest);
 * - `order:<k>`: list of a patient's waiting ids, oldest first (none for key 0: no patient);
 * - `ready`: stream of the ids that may be handed out now (a patient's oldest only), read by the
 *   consumer group `deliver`; an entry handed out stays pending in the group until settled;
 * - `retry`: sorted set id → when a failed message is due again (out of the stream meanwhile,
 *   so a wait is never taken for a dead instance's delivery);
 * - `dead`: hash dead letter id → {d died at, k order key, r the sealed letter};
 *   `dead:index`: its ids, scored by id.
 * Times are the instances' clocks, passed in (a clock off by seconds shifts a retry by as much).
 */

export interface Script {
  readonly text: string;
  readonly sha: string;
}

function script(text: string): Script {
  return { text, sha: createHash('sha1').update(text).digest('hex') };
}

/** Is this stream entry still pending for this consumer? A delivery taken over by another instance is no longer ours to settle. */
const FENCE = `
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
if #pending == 0 then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
`;

/** KEYS seq msgs all ready order; ARGV record keyed('1'|'0') → the new id. */
export const ENQUEUE = script(`
local id = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], id, ARGV[1])
redis.call('ZADD', KEYS[3], id, id)
if ARGV[2] == '1' then
  if redis.call('RPUSH', KEYS[5], id) == 1 then redis.call('XADD', KEYS[4], '*', 'id', id) end
else
  redis.call('XADD', KEYS[4], '*', 'id', id)
end
return id
`);

/**
 * KEYS ready retry msgs; ARGV group consumer count minIdle now cursor → flat {next cursor,
 * streamId, id, record, …}. Due retries back into the stream first; then deliveries idle past
 * the ackTimeout (an instance that died holding them) taken over, the pending list scanned from
 * the cursor the last call returned (a long list is looked through a part at a time, all of it
 * in turn); then new entries.
 */
export const LEASE = script(`
redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[5], 'LIMIT', 0, 200)
for _, id in ipairs(due) do
  redis.call('XADD', KEYS[1], '*', 'id', id)
  redis.call('ZREM', KEYS[2], id)
end
local count = tonumber(ARGV[3])
local out = {ARGV[6]}
local taken = 0
local function take(entries)
  for _, entry in ipairs(entries) do
    local id = entry[2] and entry[2][2]
    local record = id and redis.call('HGET', KEYS[3], id)
    if record then
      table.insert(out, entry[1]); table.insert(out, id); table.insert(out, record)
      taken = taken + 1
    else
      redis.call('XACK', KEYS[1], ARGV[1], entry[1])
      redis.call('XDEL', KEYS[1], entry[1])
    end
  end
end
if count > 0 then
  local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[4], ARGV[6], 'COUNT', count)
  out[1] = claimed[1]
  take(claimed[2])
end
if count - taken > 0 then
  local read = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', count - taken, 'STREAMS', KEYS[1], '>')
  if read then take(read[1][2]) end
end
return out
`);

/**
 * Delivered, or dead: KEYS ready msgs all order seq dead deadIndex; ARGV group consumer streamId
 * id keyed deadLetter('' when delivered) → 1, or 0 when the delivery is no longer ours. The
 * patient's next message becomes ready.
 */
export const REMOVE = script(`${FENCE}
redis.call('HDEL', KEYS[2], ARGV[4])
redis.call('ZREM', KEYS[3], ARGV[4])
if ARGV[6] ~= '' then
  local dead = redis.call('INCR', KEYS[5])
  redis.call('HSET', KEYS[6], dead, ARGV[6])
  redis.call('ZADD', KEYS[7], dead, dead)
end
if ARGV[5] == '1' then
  local head = redis.call('LINDEX', KEYS[4], 0)
  redis.call('LREM', KEYS[4], 1, ARGV[4])
  if head == ARGV[4] then
    local next = redis.call('LINDEX', KEYS[4], 0)
    if next then redis.call('XADD', KEYS[1], '*', 'id', next) end
  end
end
return 1
`);

/** A failed delivery: KEYS ready msgs retry; ARGV group consumer streamId id record nextAt → 1 or 0 (not ours). */
export const FAIL = script(`${FENCE}
if redis.call('HEXISTS', KEYS[2], ARGV[4]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
  redis.call('ZADD', KEYS[3], ARGV[6], ARGV[4])
end
return 1
`);

/** `health-outbox/retry`: KEYS ready retry → how many waiting retries became ready. */
export const RETRY_ALL = script(`
local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
for _, id in ipairs(ids) do redis.call('XADD', KEYS[1], '*', 'id', id) end
redis.call('DEL', KEYS[2])
return #ids
`);

/**
 * The shared figures: KEYS all msgs ready retry deadIndex; ARGV group →
 * {queued, oldest enqueuedAt or '', in flight (any instance), stream length, earliest retry or '', dead letters}.
 */
export const FIGURES = script(`
local queued = redis.call('ZCARD', KEYS[1])
local oldest = ''
local first = redis.call('ZRANGE', KEYS[1], 0, 0)
if first[1] then
  local record = redis.call('HGET', KEYS[2], first[1])
  if record then oldest = string.format('%.0f', cjson.decode(record).e) end
end
local inFlight = 0
local summary = redis.pcall('XPENDING', KEYS[3], ARGV[1])
if type(summary) == 'table' and summary[1] then inFlight = summary[1] end
local length = redis.call('XLEN', KEYS[3])
local retry = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
return {queued, oldest, inFlight, length, retry[2] or '', redis.call('ZCARD', KEYS[5])}
`);

/** A page of the queue: KEYS all msgs ready; ARGV after limit group → flat {id, record, inFlight('1'|'0'), …}. */
export const PAGE = script(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'LIMIT', 0, tonumber(ARGV[2]))
local flying = {}
local pending = redis.pcall('XPENDING', KEYS[3], ARGV[3], '-', '+', 1000)
if type(pending) == 'table' and not pending.err then
  for _, entry in ipairs(pending) do
    local found = redis.call('XRANGE', KEYS[3], entry[1], entry[1])
    if found[1] then flying[found[1][2][2]] = true end
  end
end
local out = {}
for _, id in ipairs(ids) do
  local record = redis.call('HGET', KEYS[2], id)
  if record then
    table.insert(out, id); table.insert(out, record); table.insert(out, flying[id] and '1' or '0')
  end
end
return out
`);

/** Dead letters after an id: KEYS deadIndex dead; ARGV after limit → flat {count of all, id, letter, …}. */
export const DEAD_PAGE = script(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {redis.call('ZCARD', KEYS[1])}
for _, id in ipairs(ids) do
  local letter = redis.call('HGET', KEYS[2], id)
  if letter then table.insert(out, id); table.insert(out, letter) end
end
return out
`);

/** Removes dead letters by id: KEYS deadIndex dead; ARGV ids… → how many were there. */
export const DEAD_REMOVE = script(`
local removed = 0
for _, id in ipairs(ARGV) do
  removed = removed + redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
end
return removed
`);

/**
 * Expires dead letters that died at or before ARGV[1] (the oldest first; they die in id order, a
 * clock set back only delays the rest): KEYS deadIndex dead → how many are kept.
 */
export const DEAD_EXPIRE = script(`
for _ = 1, 10 do
  local ids = redis.call('ZRANGE', KEYS[1], 0, 99)
  if #ids == 0 then break end
  local stop = false
  for _, id in ipairs(ids) do
    local letter = redis.call('HGET', KEYS[2], id)
    if letter and cjson.decode(letter).d > tonumber(ARGV[1]) then stop = true break end
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
  end
  if stop then break end
end
return redis.call('ZCARD', KEYS[1])
`);
