-- The stock of one item, kept in Redis and changed only by this script, so
-- every change is one atomic step on one cluster slot.
--
-- KEYS[1]  <prefix>{item:ID}:stock  hash: left, res, sold, back, out, lost, ver
-- KEYS[2]  <prefix>{item:ID}:users  hash: user -> units held (per_user caps)
-- KEYS[3]  <prefix>{item:ID}:op:ID  one taken unit: the capped user or ""
-- ARGV[1]  command: take, keep, give, mark, set, seed, release, lost
-- ARGV[2]  the pub/sub channel for sold-out news
-- ARGV[3]  the item id (for the news)
-- ARGV[4…] the command's arguments
--
-- Replies are {a, left, ver, closed} integers: a is the command's answer,
-- left the remaining units, closed 1 when the item is sold out (nothing left
-- or marked) and ver the version of that open/sold-out state: microseconds
-- from Redis's clock, strictly increasing even across a restart, bumped on
-- every change between open and sold out, so nodes can ignore stale news.
if redis.replicate_commands then redis.replicate_commands() end

local stock, users, op = KEYS[1], KEYS[2], KEYS[3]
local cmd, chan, item = ARGV[1], ARGV[2], ARGV[3]

local TAKEN, SOLD_OUT, LIMIT, UNKNOWN = 1, 2, 3, 0

local function num(v) return tonumber(v) or 0 end

-- closed reports whether a state refuses takes.
local function closed(left, out) return out == '1' or left <= 0 end

-- bump records a change between open and sold out: a new version and a
-- message "<ver> <1|0> <item>" to every node.
local function bump(soldout)
  local t = redis.call('TIME')
  local v = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local old = num(redis.call('HGET', stock, 'ver'))
  if v <= old then v = old + 1 end
  local s = string.format('%.0f', v)
  redis.call('HSET', stock, 'ver', s)
  redis.call('PUBLISH', chan, s .. (soldout and ' 1 ' or ' 0 ') .. item)
  return v
end

local h = redis.call('HMGET', stock, 'left', 'out', 'lost', 'ver', 'sold')
local known = h[1] and h[3] ~= '1'
local left, out, ver = num(h[1]), h[2], num(h[4])

-- reply answers a with the item's state after the command.
local function reply(a)
  return {a, left, ver, (known and closed(left, out)) and 1 or 0}
end

-- take ARGV[4] user ("" = uncapped), ARGV[5] per-user cap, ARGV[6] op TTL ms
-- → result: 1 taken, 2 sold out, 3 limit reached, 0 unknown
if cmd == 'take' then
  if not known then return reply(UNKNOWN) end
  if redis.call('EXISTS', op) == 1 then return reply(TAKEN) end -- a retried call
  if closed(left, out) then return reply(SOLD_OUT) end
  local user, cap = ARGV[4], tonumber(ARGV[5])
  if cap > 0 and user ~= '' then
    if num(redis.call('HGET', users, user)) >= cap then return reply(LIMIT) end
    redis.call('HINCRBY', users, user, 1)
  else
    user = ''
  end
  left = redis.call('HINCRBY', stock, 'left', -1)
  redis.call('HINCRBY', stock, 'res', 1)
  redis.call('SET', op, user, 'PX', ARGV[6])
  if left <= 0 then ver = bump(true) end
  return reply(TAKEN)
end

-- keep → 1 when the unit was reserved and is now sold
if cmd == 'keep' then
  if redis.call('DEL', op) == 1 and known then
    redis.call('HINCRBY', stock, 'res', -1)
    redis.call('HINCRBY', stock, 'sold', 1)
    return reply(1)
  end
  return reply(0)
end

-- give → 1 when the unit went back
if cmd == 'give' then
  local user = redis.call('GET', op)
  if not user then return reply(0) end
  redis.call('DEL', op)
  if not known then return reply(0) end
  if user ~= '' and redis.call('HINCRBY', users, user, -1) <= 0 then
    redis.call('HDEL', users, user)
  end
  local was = closed(left, out)
  left = redis.call('HINCRBY', stock, 'left', 1)
  redis.call('HINCRBY', stock, 'res', -1)
  redis.call('HINCRBY', stock, 'back', 1)
  if was and not closed(left, out) then ver = bump(false) end
  return reply(1)
end

-- mark (the shop said sold out) → 1 when the item has state
if cmd == 'mark' then
  if not known then return reply(0) end
  if out ~= '1' then
    local was = closed(left, out)
    out = '1'
    redis.call('HSET', stock, 'out', out)
    if not was then ver = bump(true) end
  end
  return reply(1)
end

-- set ARGV[4] remaining units (an operator's word; clears out and lost) → 1
if cmd == 'set' then
  left, out, known = tonumber(ARGV[4]), '0', true
  redis.call('HSET', stock, 'left', ARGV[4], 'out', out)
  redis.call('HDEL', stock, 'lost')
  for _, f in ipairs({'res', 'sold', 'back'}) do redis.call('HSETNX', stock, f, 0) end
  ver = bump(left <= 0)
  return reply(1)
end

-- seed ARGV[4] units, only when the item has no state (nor a tombstone)
-- → 1 when seeded, 0 when it had state, -1 when it has a tombstone
if cmd == 'seed' then
  if h[3] == '1' then return reply(-1) end
  if redis.call('EXISTS', stock) == 1 then return reply(0) end
  left, out, known = tonumber(ARGV[4]), '0', true
  redis.call('HSET', stock, 'left', ARGV[4], 'res', 0, 'sold', 0, 'back', 0, 'out', out)
  ver = bump(left <= 0)
  return reply(1)
end

-- release ARGV[4] units, ARGV[5] user ("" = none) → units released (at most
-- the units sold), -1 when the item has no state
if cmd == 'release' then
  if not known then return reply(-1) end
  local n = math.min(tonumber(ARGV[4]), num(h[5]))
  if n <= 0 then return reply(0) end
  local was = closed(left, out)
  left = redis.call('HINCRBY', stock, 'left', n)
  redis.call('HINCRBY', stock, 'sold', -n)
  redis.call('HINCRBY', stock, 'back', n)
  out = '0'
  redis.call('HSET', stock, 'out', out)
  local user = ARGV[5]
  if user ~= '' and redis.call('HINCRBY', users, user, -n) <= 0 then
    redis.call('HDEL', users, user)
  end
  if was and not closed(left, out) then ver = bump(false) end
  return reply(n)
end

-- lost: the item's state vanished (Redis restarted empty); leave a
-- tombstone so no node seeds it again from the config → 1 when written
if cmd == 'lost' then
  if redis.call('EXISTS', stock) == 1 then return reply(0) end
  redis.call('HSET', stock, 'lost', '1')
  return reply(1)
end

return redis.error_reply('stock: unknown command ' .. tostring(cmd))
