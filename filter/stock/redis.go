package stock

import (
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed script.lua
var scriptSource string

var script = redis.NewScript(scriptSource)

// Defaults of RedisOptions.
const (
	// DefaultPrefix is the key and channel prefix (the config's default).
	DefaultPrefix = "edge:"
	// DefaultTimeout bounds one Redis call.
	DefaultTimeout = 200 * time.Millisecond
	// DefaultRefresh is the period of the background refresh.
	DefaultRefresh = 250 * time.Millisecond
	// DefaultOpTTL is how long Redis remembers a taken unit.
	DefaultOpTTL = 10 * time.Minute
)

// Circuit breaker of Take: after breakerFailures consecutive failures the
// store answers ErrUnavailable without calling Redis for breakerCooldown,
// then lets one call probe. A Redis that times out then costs shoppers an
// immediate 503, not a timeout each.
const (
	breakerFailures = 3
	breakerCooldown = 500 * time.Millisecond
)

// RedisOptions configure a Redis store. Zero values take the defaults.
type RedisOptions struct {
	// Prefix is prepended to every key and to the channel. Default "edge:".
	Prefix string
	// Timeout bounds every Redis call. Default 200ms.
	Timeout time.Duration
	// Refresh is how often the store reads the counters of its items (for
	// the edge endpoint and the gauges, to heal missed sold-out news, to
	// retry seeds and give-backs). Default 250ms.
	Refresh time.Duration
	// OpTTL is how long Redis remembers a taken unit waiting for the shop's
	// answer; it must exceed the longest order (queue wait plus shop
	// timeout). A unit whose order outlives it stays counted as reserved.
	// Default 10m.
	OpTTL time.Duration
	// Log receives errors of the background work. Default slog.Default().
	Log *slog.Logger
}

// Redis is the fleet-wide store: every node shares the counters in Redis
// (a single node or a Cluster: the keys of one item share the hash tag
// {item:ID}, so each change is one script on one slot). The order path costs
// one round trip (EVALSHA of script.lua); once an item is sold out every node
// learns it from the channel <prefix>stock within a moment (or from its
// periodic refresh when a message was missed) and answers from its local
// flag without touching Redis.
//
// Every taken unit carries an id kept in Redis until the shop's answer is
// recorded, so a call retried after a lost reply never takes, keeps or
// gives twice. When Take fails without an answer the store gives the id
// back later (a no-op if the take never happened), so Redis slowness at the
// peak does not leak units.
//
// A Redis that lost its data (restarted without persistence) is noticed by
// every node that knew the sale: they leave a tombstone so the sale is not
// seeded again from the config (that would sell the sold units twice), and
// orders get 503 until an operator sets the remaining stock
// (PUT /stock/{item}). A node started after the loss and before any running
// node noticed it cannot tell the loss from a new sale: run Redis with
// persistence (appendonly yes) for sales that must survive its restarts,
// and without eviction (maxmemory-policy noeviction): an evicted stock hash
// counts as lost, an evicted take id as a unit that stays reserved. With
// replicas, a failover may lose the last writes the old master acknowledged
// (Redis replicates asynchronously); the shop stays the authority, and its
// sold-out answer closes the item at the edge.
type Redis struct {
	rdb     redis.UniversalClient
	prefix  string
	channel string
	timeout time.Duration
	refresh time.Duration
	opTTL   string // milliseconds, as the script wants it
	log     *slog.Logger
	now     func() time.Time // breaker clock

	mu    sync.Mutex                        // serialises adding views
	views atomic.Pointer[map[string]*rview] // copy on write: lock-free reads

	pendMu  sync.Mutex
	pending []pendingOp  // keeps and gives to retry
	dropped atomic.Int64 // give-backs dropped since the last log
	kick    chan struct{}

	fails     atomic.Int32
	openUntil atomic.Int64 // unix ns; 0 = closed

	cancel context.CancelFunc
	done   sync.WaitGroup
	closed atomic.Bool
}

// rview is this node's view of one item in Redis.
type rview struct {
	item    string
	kStock  string
	kUsers  string
	kOp     string // op key prefix, the id's hex digits follow
	flag    flag
	left    atomic.Int64
	res     atomic.Int64
	sold    atomic.Int64
	back    atomic.Int64
	known   atomic.Bool  // counters read at least once
	seen    atomic.Bool  // Redis held the item's state at some point
	lost    atomic.Bool  // the state vanished; a tombstone guards it
	seed    atomic.Int64 // the stock to seed with, -1: none wanted
	seeding atomic.Bool  // a seed is wanted and has not succeeded yet
}

var _ Store = (*Redis)(nil)

// NewRedis returns a store on rdb and starts its background work: the
// sold-out subscription and the periodic refresh. It waits for the
// subscription to be confirmed, at most max(Timeout, 500ms) when Redis is
// away (the subscription then keeps reconnecting in the background). Close
// stops the background work; rdb stays the caller's.
func NewRedis(rdb redis.UniversalClient, o RedisOptions) *Redis {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Refresh <= 0 {
		o.Refresh = DefaultRefresh
	}
	if o.OpTTL <= 0 {
		o.OpTTL = DefaultOpTTL
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	s := &Redis{
		rdb:     rdb,
		prefix:  o.Prefix,
		channel: o.Prefix + "stock",
		timeout: o.Timeout,
		refresh: o.Refresh,
		opTTL:   strconv.FormatInt(o.OpTTL.Milliseconds(), 10),
		log:     o.Log.With(slog.String("component", "stock")),
		now:     time.Now,
		kick:    make(chan struct{}, 1),
	}
	empty := map[string]*rview{}
	s.views.Store(&empty)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	ready := make(chan struct{})
	s.done.Add(2)
	go s.subscribe(ctx, ready)
	go s.refreshLoop(ctx)
	<-ready
	return s
}

// view returns item's view, creating it on first use.
func (s *Redis) view(item string) *rview {
	if v := (*s.views.Load())[item]; v != nil {
		return v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := *s.views.Load()
	if v := cur[item]; v != nil {
		return v
	}
	tag := s.prefix + "{item:" + item + "}:"
	v := &rview{item: item, kStock: tag + "stock", kUsers: tag + "users", kOp: tag + "op:"}
	v.seed.Store(-1)
	next := make(map[string]*rview, len(cur)+1)
	for k, x := range cur {
		next[k] = x
	}
	next[item] = v
	s.views.Store(&next)
	return v
}

// run executes one script command with the store's timeout.
func (s *Redis) run(ctx context.Context, v *rview, id uint64, cmd string, args ...any) ([]int64, error) {
	keys := []string{v.kStock, v.kUsers}
	if cmd == "take" || cmd == "keep" || cmd == "give" {
		keys = append(keys, opKey(v.kOp, id))
	}
	argv := append([]any{cmd, s.channel, v.item}, args...)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	res, err := script.Run(ctx, s.rdb, keys, argv...).Int64Slice()
	cancel()
	if err == nil && len(res) != 4 {
		err = fmt.Errorf("unexpected script reply of %d values", len(res))
	}
	if err != nil {
		return nil, fmt.Errorf("stock: redis %s %q: %w: %w", cmd, v.item, ErrUnavailable, err)
	}
	return res, nil
}

// opKey returns the key of one taken unit.
func opKey(prefix string, id uint64) string {
	var buf [128]byte
	b := append(buf[:0], prefix...)
	b = strconv.AppendUint(b, id, 16)
	return string(b)
}

// Take takes one unit in one EVALSHA. On a failure without an answer the
// unit may have been taken: its id is queued to be given back.
func (s *Redis) Take(ctx context.Context, sale *Sale, user []byte, perUser int, id uint64) (Result, error) {
	v := s.view(sale.Item)
	if !s.admit() {
		return Unknown, fmt.Errorf("stock: redis circuit open after repeated failures: %w", ErrUnavailable)
	}
	if perUser <= 0 {
		user = nil
	}
	res, err := s.run(ctx, v, id, "take", user, perUser, s.opTTL)
	if err != nil {
		s.failed()
		s.queue(pendingOp{give: true, v: v, id: id})
		return Unknown, err
	}
	s.succeeded()
	r := Result(res[0])
	if r == Unknown {
		s.vanished(ctx, v)
		return Unknown, nil
	}
	v.absorbReply(res)
	return r, nil
}

// absorbReply records the state a script reply {a, left, ver, closed}
// reports for an item Redis holds. The other counters keep their last read
// values until the next refresh.
func (v *rview) absorbReply(res []int64) {
	v.seen.Store(true)
	v.lost.Store(false)
	v.left.Store(res[1])
	v.known.Store(true)
	v.flag.apply(uint64(res[2]), res[3] == 1)
}

// Keep records the sale of id's unit; on failure it is retried in the
// background (keeping twice is harmless: the id is gone after the first).
func (s *Redis) Keep(ctx context.Context, sale *Sale, id uint64) error {
	v := s.view(sale.Item)
	_, err := s.run(ctx, v, id, "keep")
	if err != nil {
		s.queue(pendingOp{v: v, id: id})
	}
	return err
}

// Give returns id's unit; on failure it is retried in the background
// (giving twice is harmless: the id is gone after the first).
func (s *Redis) Give(ctx context.Context, sale *Sale, user []byte, id uint64) error {
	v := s.view(sale.Item)
	res, err := s.run(ctx, v, id, "give")
	if err != nil {
		s.queue(pendingOp{give: true, v: v, id: id})
		return err
	}
	if res[0] == 1 {
		v.absorbReply(res)
	}
	return nil
}

// MarkSoldOut records the shop's word and tells every node.
func (s *Redis) MarkSoldOut(ctx context.Context, sale *Sale) error {
	v := s.view(sale.Item)
	res, err := s.run(ctx, v, 0, "mark")
	if err != nil {
		return err
	}
	if res[0] == 1 {
		v.absorbReply(res)
	}
	return nil
}

// Set makes stock the remaining units, clears the sold-out mark and a
// lost-state tombstone, and tells every node.
func (s *Redis) Set(ctx context.Context, sale *Sale, stock int64) error {
	v := s.view(sale.Item)
	res, err := s.run(ctx, v, 0, "set", max(stock, 0))
	if err != nil {
		return err
	}
	v.seeding.Store(false)
	v.absorbReply(res)
	return nil
}

// Release returns up to units sold units to the stock.
func (s *Redis) Release(ctx context.Context, sale *Sale, units int64, user string) (int64, error) {
	v := s.view(sale.Item)
	res, err := s.run(ctx, v, 0, "release", units, user)
	if err != nil {
		return 0, err
	}
	if res[0] < 0 {
		return 0, ErrUnknownSale
	}
	if res[0] > 0 {
		v.absorbReply(res)
	}
	return res[0], nil
}

// Seed sets the stock unless the item has state (or a tombstone). A failed
// seed is retried by the background refresh until it succeeds.
func (s *Redis) Seed(ctx context.Context, sale *Sale, stock int64) (bool, error) {
	v := s.view(sale.Item)
	v.seed.Store(max(stock, 0))
	v.seeding.Store(true)
	return s.seedView(ctx, v)
}

func (s *Redis) seedView(ctx context.Context, v *rview) (bool, error) {
	n := v.seed.Load()
	if n < 0 {
		return false, nil
	}
	res, err := s.run(ctx, v, 0, "seed", n)
	if err != nil {
		return false, err
	}
	v.seeding.Store(false)
	if res[0] < 0 {
		v.seen.Store(true)
		v.lost.Store(true)
		return false, nil
	}
	v.absorbReply(res)
	return res[0] == 1, nil
}

// vanished handles an item whose state Redis no longer holds although this
// node saw it: it writes the tombstone (once) and logs.
func (s *Redis) vanished(ctx context.Context, v *rview) {
	if !v.seen.Load() || v.lost.Load() {
		return
	}
	if _, err := s.run(ctx, v, 0, "lost"); err != nil {
		return // the refresh tries again
	}
	if !v.lost.Swap(true) {
		s.log.Error("stock state vanished from Redis (restarted without persistence?); orders get 503 until the remaining stock is set with PUT /stock/{item}",
			slog.String("item", v.item))
	}
}

// Info reads the counters from Redis (and refreshes the local view).
func (s *Redis) Info(ctx context.Context, sale *Sale) (Info, error) {
	v := s.view(sale.Item)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	vals, err := s.rdb.HMGet(ctx, v.kStock, infoFields...).Result()
	cancel()
	if err != nil {
		return Info{}, fmt.Errorf("stock: redis info %q: %w: %w", v.item, ErrUnavailable, err)
	}
	info, ok := s.absorb(ctx, v, vals)
	if !ok {
		return Info{}, ErrUnknownSale
	}
	return info, nil
}

// infoFields are read by Info and the refresh, in this order.
var infoFields = []string{"left", "res", "sold", "back", "out", "lost", "ver"}

// absorb updates v from an HMGET of infoFields and returns the counters;
// ok is false when Redis holds no usable state (never seeded, or lost).
func (s *Redis) absorb(ctx context.Context, v *rview, vals []any) (Info, bool) {
	switch {
	case len(vals) != len(infoFields):
		return Info{}, false
	case vals[5] != nil: // a tombstone
		v.seen.Store(true)
		v.lost.Store(true)
		return Info{}, false
	case vals[0] == nil: // no state at all
		s.vanished(ctx, v)
		return Info{}, false
	}
	n := func(i int) int64 {
		str, _ := vals[i].(string)
		x, _ := strconv.ParseInt(str, 10, 64)
		return x
	}
	out, _ := vals[4].(string)
	info := Info{Remaining: n(0), Reserved: n(1), Sold: n(2), GivenBack: n(3)}
	info.SoldOut = out == "1" || info.Remaining <= 0
	v.left.Store(info.Remaining)
	v.res.Store(info.Reserved)
	v.sold.Store(info.Sold)
	v.back.Store(info.GivenBack)
	v.known.Store(true)
	v.seen.Store(true)
	v.lost.Store(false)
	v.flag.apply(uint64(n(6)), info.SoldOut)
	return info, true
}

// SoldOut reports the local flag: no I/O, no allocation.
func (s *Redis) SoldOut(sale *Sale) bool {
	v := (*s.views.Load())[sale.Item]
	return v != nil && v.flag.set()
}

// Local returns the counters as last read or answered.
func (s *Redis) Local(sale *Sale) (Info, bool) {
	v := (*s.views.Load())[sale.Item]
	if v == nil || !v.known.Load() {
		return Info{}, false
	}
	return Info{
		Remaining: v.left.Load(),
		Reserved:  v.res.Load(),
		Sold:      v.sold.Load(),
		GivenBack: v.back.Load(),
		SoldOut:   v.flag.set(),
	}, true
}

// Close stops the subscription and the refresh and waits for them. It
// does not close rdb, which the caller owns.
func (s *Redis) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.cancel()
	s.done.Wait()
	return nil
}

// admit reports whether Take may call Redis (see breakerFailures).
func (s *Redis) admit() bool {
	until := s.openUntil.Load()
	if until == 0 {
		return true
	}
	now := s.now().UnixNano()
	if now < until {
		return false
	}
	return s.openUntil.CompareAndSwap(until, now+int64(breakerCooldown))
}

func (s *Redis) failed() {
	if s.fails.Add(1) >= breakerFailures {
		s.openUntil.Store(s.now().UnixNano() + int64(breakerCooldown))
	}
}

func (s *Redis) succeeded() {
	if s.fails.Load() != 0 {
		s.fails.Store(0)
	}
	if s.openUntil.Load() != 0 {
		s.openUntil.Store(0)
	}
}
