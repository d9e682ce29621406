package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"edge/filter/stock"
)

// Defaults of RedisOptions.
const (
	// DefaultPrefix is the key and channel prefix (the config's default).
	DefaultPrefix = "edge:"
	// DefaultTimeout bounds one Redis call.
	DefaultTimeout = 200 * time.Millisecond
)

// group is the consumer group every node's dispatcher reads as.
const group = "dispatch"

// consumerIdle is how long a consumer without pending orders stays in the
// group after its last read; older ones (nodes long gone) are removed.
const consumerIdle = time.Hour

// RedisOptions configure a Redis backend. Zero values take the defaults.
type RedisOptions struct {
	// Prefix is prepended to every key and the channel. Default "edge:".
	Prefix string
	// Timeout bounds every Redis call (a blocking read waits its block time
	// on top). Default 200ms.
	Timeout time.Duration
	// Consumer names this node in the consumer group; unique per process.
	// Default "<hostname>-<pid>-<random>".
	Consumer string
	// Log receives errors of the background work. Default slog.Default().
	Log *slog.Logger
}

// Redis is the fleet-wide backend. Each async route has one stream
// (<prefix>{orders}:q:<route>) read by the consumer group "dispatch", in
// which every node is one consumer; an order stays in the stream until it
// is finished (acknowledged and deleted), so the stream's length is the
// orders not yet decided, and the bound of max_length holds without
// trimming (which would lose accepted orders). Each ticket has a hash
// (<prefix>{orders}:r:<ticket>) holding its shopper, status and result;
// final results are announced on <prefix>orders:done so long polls wake at
// once.
//
// Every key shares the hash tag {orders}: the scripts that change a stream
// and a result together run on one slot of a Redis Cluster (which also puts
// all async orders on one shard; the shop's pace, not Redis, is the bound).
//
// Run Redis with persistence (appendonly yes) for orders that must survive
// its restart, and without eviction.
type Redis struct {
	rdb      redis.UniversalClient
	prefix   string
	channel  string
	timeout  time.Duration
	consumer string
	log      *slog.Logger
	watch    *watchers

	mu        sync.Mutex
	groups    map[string]bool      // streams whose group is known to exist
	cursors   map[string]string    // XAUTOCLAIM cursor per stream
	lastSweep map[string]time.Time // last consumer clean-up per stream

	cancel context.CancelFunc
	done   sync.WaitGroup
}

var _ Backend = (*Redis)(nil)

// NewRedis returns a backend on rdb and starts its subscription to result
// announcements (waiting for it at most max(Timeout, 500ms); a Redis that
// is away does not hold up the start longer). Close stops
// it; rdb stays the caller's.
func NewRedis(rdb redis.UniversalClient, o RedisOptions) *Redis {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Consumer == "" {
		o.Consumer = consumerName()
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	r := &Redis{
		rdb:       rdb,
		prefix:    o.Prefix,
		channel:   o.Prefix + "orders:done",
		timeout:   o.Timeout,
		consumer:  o.Consumer,
		log:       o.Log.With(slog.String("component", "orders")),
		watch:     newWatchers(),
		groups:    map[string]bool{},
		cursors:   map[string]string{},
		lastSweep: map[string]time.Time{},
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	ready := make(chan struct{})
	r.done.Add(1)
	go r.subscribe(ctx, ready)
	<-ready
	return r
}

// Consumer returns this node's name in the consumer group.
func (r *Redis) Consumer() string { return r.consumer }

func (r *Redis) streamKey(route string) string  { return r.prefix + "{orders}:q:" + route }
func (r *Redis) resultKey(ticket string) string { return r.prefix + "{orders}:r:" + ticket }

// call returns a context bounded by the backend's timeout plus extra.
func (r *Redis) call(ctx context.Context, extra time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), r.timeout+extra)
}

// Enqueue implements Backend.
func (r *Redis) Enqueue(ctx context.Context, o *Order, maxLen int) error {
	ctx, cancel := r.call(ctx, 0)
	defer cancel()
	unitID := ""
	if o.Unit.Valid() {
		unitID = strconv.FormatUint(o.Unit.ID, 16)
	}
	n, err := enqueueScript.Run(ctx, r.rdb,
		[]string{r.streamKey(o.Route), r.resultKey(o.Ticket)},
		maxLen, PendingTTL.Milliseconds(), o.Ticket, o.User, o.Item, unitID,
		o.Unit.User, o.Request, o.Enqueued.UnixMilli(), o.Route).Int()
	if err != nil {
		return fmt.Errorf("orders: redis enqueue: %w", err)
	}
	if n == 0 {
		return ErrFull
	}
	return nil
}

// Cancel implements Backend.
func (r *Redis) Cancel(ctx context.Context, ticket string) error {
	ctx, cancel := r.call(ctx, 0)
	defer cancel()
	if err := r.rdb.Del(ctx, r.resultKey(ticket)).Err(); err != nil {
		return fmt.Errorf("orders: redis cancel: %w", err)
	}
	return nil
}

// ensureGroup creates route's stream and consumer group once (from the
// stream's start, so orders queued before any dispatcher ran are read).
func (r *Redis) ensureGroup(ctx context.Context, key string, force bool) error {
	r.mu.Lock()
	known := r.groups[key]
	r.mu.Unlock()
	if known && !force {
		return nil
	}
	err := r.rdb.XGroupCreateMkStream(ctx, key, group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("orders: redis create group: %w", err)
	}
	r.mu.Lock()
	r.groups[key] = true
	r.mu.Unlock()
	return nil
}

// isNoGroup reports a stream or group that vanished (Redis restarted
// empty, or the stream was deleted).
func isNoGroup(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOGROUP") }

// Read implements Backend.
func (r *Redis) Read(ctx context.Context, route string, n int, block time.Duration) ([]Delivery, error) {
	key := r.streamKey(route)
	for try := 0; ; try++ {
		// ctx may end the blocking read early (the dispatcher stops).
		cctx, cancel := context.WithTimeout(ctx, r.timeout+max(block, 0))
		if err := r.ensureGroup(cctx, key, try > 0); err != nil {
			cancel()
			return nil, err
		}
		args := &redis.XReadGroupArgs{Group: group, Consumer: r.consumer,
			Streams: []string{key, ">"}, Count: int64(n), Block: block}
		if block <= 0 {
			args.Block = -1
		}
		res, err := r.rdb.XReadGroup(cctx, args).Result()
		cancel()
		switch {
		case errors.Is(err, redis.Nil) || ctx.Err() != nil:
			return nil, nil
		case isNoGroup(err) && try == 0:
			continue
		case err != nil:
			return nil, fmt.Errorf("orders: redis read: %w", err)
		}
		var out []Delivery
		for _, s := range res {
			out = r.decodeAll(ctx, route, s.Messages, out)
		}
		return out, nil
	}
}

// Claim implements Backend.
func (r *Redis) Claim(ctx context.Context, route string, idle time.Duration, n int) ([]Delivery, error) {
	key := r.streamKey(route)
	r.mu.Lock()
	start := r.cursors[key]
	r.mu.Unlock()
	if start == "" {
		start = "0-0"
	}
	cctx, cancel := r.call(ctx, 0)
	defer cancel()
	msgs, next, err := r.rdb.XAutoClaim(cctx, &redis.XAutoClaimArgs{Stream: key, Group: group,
		Consumer: r.consumer, MinIdle: idle, Start: start, Count: int64(n)}).Result()
	if isNoGroup(err) {
		return nil, nil // nothing was ever read: nothing to claim
	}
	if err != nil {
		return nil, fmt.Errorf("orders: redis claim: %w", err)
	}
	r.mu.Lock()
	r.cursors[key] = next
	sweep := time.Since(r.lastSweep[key]) > 10*time.Minute
	if sweep {
		r.lastSweep[key] = time.Now()
	}
	r.mu.Unlock()
	if sweep {
		r.sweepConsumers(cctx, key)
	}
	return r.decodeAll(ctx, route, msgs, nil), nil
}

// sweepConsumers removes consumers of nodes long gone: no pending orders
// and no read for consumerIdle. Failures are harmless (retried later).
func (r *Redis) sweepConsumers(ctx context.Context, key string) {
	cs, err := r.rdb.XInfoConsumers(ctx, key, group).Result()
	if err != nil {
		return
	}
	for _, c := range cs {
		if c.Name != r.consumer && c.Pending == 0 && c.Idle > consumerIdle {
			_ = r.rdb.XGroupDelConsumer(ctx, key, group, c.Name).Err()
		}
	}
}

// decodeAll appends the decodable messages to out; undecodable ones (never
// written by Enqueue) are dropped and logged.
func (r *Redis) decodeAll(ctx context.Context, route string, msgs []redis.XMessage, out []Delivery) []Delivery {
	for _, m := range msgs {
		o, err := decodeEntry(route, m.Values)
		if err != nil {
			r.log.Error("orders: dropping a malformed queue entry", slog.String("route", route),
				slog.String("id", m.ID), slog.Any("err", err))
			_ = r.Drop(ctx, route, m.ID)
			continue
		}
		out = append(out, Delivery{ID: m.ID, Order: o})
	}
	return out
}

// decodeEntry rebuilds an order from its stream fields.
func decodeEntry(route string, v map[string]any) (*Order, error) {
	str := func(k string) string { s, _ := v[k].(string); return s }
	o := &Order{Ticket: str("t"), Route: route, User: str("u"), Item: str("i"), Request: []byte(str("q"))}
	if !ValidTicket([]byte(o.Ticket)) || len(o.Request) == 0 {
		return nil, errors.New("missing ticket or request")
	}
	if at, err := strconv.ParseInt(str("at"), 10, 64); err == nil {
		o.Enqueued = time.UnixMilli(at)
	}
	if k := str("k"); k != "" {
		id, err := strconv.ParseUint(k, 16, 64)
		if err != nil {
			return nil, fmt.Errorf("unit id %q: %w", k, err)
		}
		o.Unit = stock.Unit{Item: o.Item, ID: id, User: str("ku")}
	}
	return o, nil
}

// Touch implements Backend.
func (r *Redis) Touch(ctx context.Context, route string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	ctx, cancel := r.call(ctx, 0)
	defer cancel()
	args := make([]any, 0, len(ids)+2)
	args = append(args, group, r.consumer)
	for _, id := range ids {
		args = append(args, id)
	}
	if err := touchScript.Run(ctx, r.rdb, []string{r.streamKey(route)}, args...).Err(); err != nil {
		return fmt.Errorf("orders: redis touch: %w", err)
	}
	return nil
}

// Attempt implements Backend.
func (r *Redis) Attempt(ctx context.Context, ticket string) (string, int, error) {
	ctx, cancel := r.call(ctx, 0)
	defer cancel()
	res, err := attemptScript.Run(ctx, r.rdb, []string{r.resultKey(ticket)}).Slice()
	if err == nil && len(res) != 2 {
		err = fmt.Errorf("unexpected reply of %d values", len(res))
	}
	if err != nil {
		return "", 0, fmt.Errorf("orders: redis attempt: %w", err)
	}
	status, _ := res[0].(string)
	n, _ := res[1].(int64)
	return status, int(n), nil
}

// Finish implements Backend.
func (r *Redis) Finish(ctx context.Context, route, id string, res *Result, ttl time.Duration) error {
	ctx, cancel := r.call(ctx, 0)
	defer cancel()
	err := finishScript.Run(ctx, r.rdb, []string{r.streamKey(route), r.resultKey(res.Ticket)},
		group, id, ttl.Milliseconds(), res.Status, res.Reason, res.Code, res.ContentType,
		res.Body, res.Done.UnixMilli(), r.channel, res.Ticket).Err()
	if err != nil {
		return fmt.Errorf("orders: redis finish: %w", err)
	}
	return nil
}

// Drop implements Backend.
func (r *Redis) Drop(ctx context.Context, route, id string) error {
	ctx, cancel := r.call(ctx, 0)
	defer cancel()
	if err := dropScript.Run(ctx, r.rdb, []string{r.streamKey(route)}, group, id).Err(); err != nil {
		return fmt.Errorf("orders: redis drop: %w", err)
	}
	return nil
}

// Stats implements Backend.
func (r *Redis) Stats(ctx context.Context, route string) (int64, time.Time, error) {
	ctx, cancel := r.call(ctx, 0)
	defer cancel()
	key := r.streamKey(route)
	pipe := r.rdb.Pipeline()
	lenCmd := pipe.XLen(ctx, key)
	firstCmd := pipe.XRangeN(ctx, key, "-", "+", 1)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, time.Time{}, fmt.Errorf("orders: redis stats: %w", err)
	}
	var oldest time.Time
	if first := firstCmd.Val(); len(first) == 1 {
		oldest = entryTime(first[0].ID)
	}
	return lenCmd.Val(), oldest, nil
}

// entryTime returns the time in a stream entry id ("<ms>-<seq>").
func entryTime(id string) time.Time {
	ms, _, _ := strings.Cut(id, "-")
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

// Result implements Backend.
func (r *Redis) Result(ctx context.Context, ticket string) (*Result, error) {
	ctx, cancel := r.call(ctx, 0)
	defer cancel()
	h, err := r.rdb.HGetAll(ctx, r.resultKey(ticket)).Result()
	if err != nil {
		return nil, fmt.Errorf("orders: redis result: %w", err)
	}
	if h["s"] == "" {
		return nil, nil
	}
	res := &Result{Ticket: ticket, Route: h["r"], User: h["u"], Status: h["s"], Reason: h["rs"],
		ContentType: h["ct"], Body: []byte(h["b"])}
	res.Code, _ = strconv.Atoi(h["c"])
	res.Attempts, _ = strconv.Atoi(h["a"])
	if at, err := strconv.ParseInt(h["at"], 10, 64); err == nil {
		res.Enqueued = time.UnixMilli(at)
	}
	if d, err := strconv.ParseInt(h["d"], 10, 64); err == nil {
		res.Done = time.UnixMilli(d)
	}
	return res, nil
}

// Watch implements Backend.
func (r *Redis) Watch(ticket string) (<-chan struct{}, func()) { return r.watch.add(ticket) }

// subscribe delivers result announcements to the local watchers until ctx
// ends; the client reconnects and resubscribes by itself. ready is closed
// once the subscription is confirmed or could not be made at once.
func (r *Redis) subscribe(ctx context.Context, ready chan<- struct{}) {
	defer r.done.Done()
	ps := r.rdb.Subscribe(ctx, r.channel)
	if _, err := ps.ReceiveTimeout(ctx, max(r.timeout, 500*time.Millisecond)); err != nil {
		r.log.Warn("orders: result subscription not confirmed yet; retrying in the background",
			slog.String("channel", r.channel), slog.Any("err", err))
	}
	close(ready)
	// Closing ps ends the channel; it must happen on ctx's end, before the
	// loop below can finish.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()
	ch := ps.ChannelWithSubscriptions(redis.WithChannelSize(1024),
		redis.WithChannelHealthCheckInterval(time.Second))
	for m := range ch {
		switch m := m.(type) {
		case *redis.Message:
			r.watch.wake(m.Payload)
		case *redis.Subscription:
			// A (re)subscription: announcements may have been missed.
			r.watch.wakeAll()
		}
	}
}

// Close implements Backend.
func (r *Redis) Close() error {
	r.cancel()
	r.done.Wait()
	return nil
}
