package quiz

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// bankSyncTimeout bounds one transfer of a whole bank to or from Redis (a
// bank of 1000 questions is a few megabytes); request-path calls use the
// configured Redis timeout instead.
const bankSyncTimeout = 30 * time.Second

// settleScript decides an answer in one round trip. KEYS[1] counts the
// shopper's failures on the item, KEYS[2] marks the token used; both carry
// the same hash tag, so the script stays in one cluster slot.
//
// ARGV: correct (1/0), failures allowed, ttl ms. Returns the outcome: 0 ok,
// 1 wrong (counted), 2 replayed, 3 no attempts left.
var settleScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[2]) then return 3 end
if ARGV[1] == '1' then
  if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3]) then return 0 end
  return 2
end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`)

// redisStore is the fleet-wide answerStore: a token used on one node is
// used on all of them, and failures count across nodes.
//
// Keys: <prefix>{quiz:<tag>}:a holds the failure count (expires ttl after
// the first failure: a fixed window), <prefix>{quiz:<tag>}:t:<question>:<issued>
// marks a used token until its max_age has passed.
type redisStore struct {
	rdb     redis.UniversalClient
	prefix  string
	timeout time.Duration
}

func (s *redisStore) settle(ctx context.Context, user, item []byte, question uint64, issuedMS int64, correct bool, limit int, ttl time.Duration) (outcome, error) {
	base := make([]byte, 0, len(s.prefix)+len(user)+len(item)+64)
	base = appendTag(append(append(base, s.prefix...), "{quiz:"...), user, item)
	base = append(base, '}', ':')
	attempts := string(append(base, 'a'))
	used := base[:len(base):len(base)]
	used = append(used, "t:"...)
	used = appendID(used, question)
	used = append(used, ':')
	used = strconv.AppendInt(used, issuedMS, 10)
	flag := "0"
	if correct {
		flag = "1"
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ms := max(ttl.Milliseconds(), 1)
	n, err := settleScript.Run(ctx, s.rdb, []string{attempts, string(used)}, flag, limit, ms).Int()
	if err != nil {
		return 0, fmt.Errorf("quiz: redis settle: %w", err)
	}
	switch n {
	case 0:
		return settledOK, nil
	case 1:
		return settledWrong, nil
	case 2:
		return settledReplayed, nil
	case 3:
		return settledAttempts, nil
	}
	return 0, fmt.Errorf("quiz: redis settle: unexpected result %d", n)
}

// publishScript stores a bank: KEYS[1] holds its id, KEYS[2] its export.
// ARGV: new id, data, mode, expected id. Mode "absent" stores only when
// there is no bank; "replace" only when the current id is the expected one
// (or there is none); "force" always. Returns 1 when stored.
var publishScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if ARGV[3] == 'absent' and cur then return 0 end
if ARGV[3] == 'replace' and cur and cur ~= ARGV[4] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SET', KEYS[1], ARGV[1])
return 1
`)

// Publish modes.
const (
	publishIfAbsent = "absent"
	publishReplace  = "replace"
	publishForce    = "force"
)

// bankKeys returns the Redis keys of the shared bank's id and data.
func bankKeys(prefix string) (id, data string) {
	return prefix + "{quiz:bank}:id", prefix + "{quiz:bank}:data"
}

// publishBank stores b as the fleet's bank according to mode (expect is the
// id "replace" must find). It reports whether b was stored.
func publishBank(ctx context.Context, rdb redis.UniversalClient, prefix string, b *Bank, mode, expect string) (bool, error) {
	data, err := b.Export()
	if err != nil {
		return false, err
	}
	idKey, dataKey := bankKeys(prefix)
	ctx, cancel := context.WithTimeout(ctx, bankSyncTimeout)
	defer cancel()
	n, err := publishScript.Run(ctx, rdb, []string{idKey, dataKey}, b.ID(), data, mode, expect).Int()
	if err != nil {
		return false, fmt.Errorf("quiz: publish bank: %w", err)
	}
	return n == 1, nil
}

// sharedBankID returns the id of the fleet's bank, "" when there is none.
func sharedBankID(ctx context.Context, rdb redis.UniversalClient, prefix string, timeout time.Duration) (string, error) {
	idKey, _ := bankKeys(prefix)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	id, err := rdb.Get(ctx, idKey).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("quiz: read bank id: %w", err)
	}
	return id, nil
}

// loadSharedBank reads and validates the fleet's bank; nil when there is
// none.
func loadSharedBank(ctx context.Context, rdb redis.UniversalClient, prefix string) (*Bank, error) {
	_, dataKey := bankKeys(prefix)
	ctx, cancel := context.WithTimeout(ctx, bankSyncTimeout)
	defer cancel()
	data, err := rdb.Get(ctx, dataKey).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("quiz: read bank: %w", err)
	}
	b, err := Import(data)
	if err != nil {
		return nil, fmt.Errorf("quiz: shared bank: %w", err)
	}
	return b, nil
}
