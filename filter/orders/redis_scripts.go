package orders

import "github.com/redis/go-redis/v9"

// The scripts below touch only keys of one hash tag ({orders}), so each runs
// on one Redis Cluster slot.

// enqueueScript appends an order and records its pending result, unless the
// stream is full.
//
//	KEYS[1] stream   KEYS[2] result hash
//	ARGV[1] max length   ARGV[2] pending TTL (ms)
//	ARGV[3] ticket  ARGV[4] user  ARGV[5] item  ARGV[6] unit id (hex or "")
//	ARGV[7] unit user  ARGV[8] request  ARGV[9] enqueued (unix ms)  ARGV[10] route
//
// Returns 1 when queued, 0 when full.
var enqueueScript = redis.NewScript(`
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('XADD', KEYS[1], '*', 't', ARGV[3], 'u', ARGV[4], 'i', ARGV[5],
  'k', ARGV[6], 'ku', ARGV[7], 'q', ARGV[8], 'at', ARGV[9])
redis.call('HSET', KEYS[2], 's', 'pending', 'u', ARGV[4], 'r', ARGV[10], 'at', ARGV[9], 'a', 0)
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`)

// attemptScript counts one more send of a pending order.
//
//	KEYS[1] result hash
//
// Returns {status, attempts}: status "" when the result is gone.
var attemptScript = redis.NewScript(`
local s = redis.call('HGET', KEYS[1], 's')
if not s then return {'', 0} end
if s ~= 'pending' then return {s, tonumber(redis.call('HGET', KEYS[1], 'a') or '0')} end
return {s, redis.call('HINCRBY', KEYS[1], 'a', 1)}
`)

// finishScript stores a final result (only over a pending one), announces
// it and acknowledges and deletes the stream entry.
//
//	KEYS[1] stream   KEYS[2] result hash
//	ARGV[1] group  ARGV[2] entry id  ARGV[3] result TTL (ms)  ARGV[4] status
//	ARGV[5] reason  ARGV[6] code  ARGV[7] content type  ARGV[8] body
//	ARGV[9] done (unix ms)  ARGV[10] channel  ARGV[11] ticket
//
// Returns 1 when the result was stored, 0 when one was there already or the
// pending result was gone.
var finishScript = redis.NewScript(`
local wrote = 0
if redis.call('HGET', KEYS[2], 's') == 'pending' then
  redis.call('HSET', KEYS[2], 's', ARGV[4], 'rs', ARGV[5], 'c', ARGV[6],
    'ct', ARGV[7], 'b', ARGV[8], 'd', ARGV[9])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  redis.call('PUBLISH', ARGV[10], ARGV[11])
  wrote = 1
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return wrote
`)

// dropScript acknowledges and deletes a stream entry.
//
//	KEYS[1] stream   ARGV[1] group   ARGV[2] entry id
var dropScript = redis.NewScript(`
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
`)

// touchScript restarts the idle time of the entries the consumer still owns
// (XCLAIM with min-idle 0 would also take entries another consumer claimed
// meanwhile; those are left alone).
//
//	KEYS[1] stream   ARGV[1] group   ARGV[2] consumer   ARGV[3…] entry ids
//
// Returns the number of entries touched.
var touchScript = redis.NewScript(`
local n = 0
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])
  if #p == 1 then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    n = n + 1
  end
end
return n
`)
