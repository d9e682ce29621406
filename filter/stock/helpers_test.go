package stock

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/valyala/fasthttp"

	"edge/filter"
	"edge/internal/config"
)

// quiet is a logger for tests.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newClient returns a client tuned like the gateway's (one retry, bounded
// waits), with generous timeouts for a loaded test machine, counting the
// commands it sends in n (nil: not counted).
func newClient(t testing.TB, n *atomic.Int64, addrs ...string) redis.UniversalClient {
	t.Helper()
	maint := &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	var rdb redis.UniversalClient
	if len(addrs) == 1 {
		rdb = redis.NewClient(&redis.Options{
			Addr: addrs[0], MaxRetries: 1, DialTimeout: time.Second, ReadTimeout: 10 * time.Second,
			WriteTimeout: 10 * time.Second, PoolTimeout: 10 * time.Second, ContextTimeoutEnabled: true,
			DisableIdentity: true, MaintNotificationsConfig: maint,
		})
	} else {
		rdb = redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: addrs, MaxRetries: 1, DialTimeout: time.Second, ReadTimeout: 10 * time.Second,
			WriteTimeout: 10 * time.Second, PoolTimeout: 10 * time.Second, ContextTimeoutEnabled: true,
			DisableIdentity: true, MaintNotificationsConfig: maint,
		})
	}
	if n != nil {
		rdb.AddHook(counter{n})
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// counter is a go-redis hook counting commands (pipelined ones too).
type counter struct{ n *atomic.Int64 }

func (c counter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// lostReply is a hook that runs commands but reports a timeout, as when
// the reply is lost on the way back.
type lostReply struct{ on *atomic.Bool }

func (h lostReply) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h lostReply) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if err == nil && h.on.Load() {
			err = &net.OpError{Op: "read", Err: timeoutErr{}}
			cmd.SetErr(err)
		}
		return err
	}
}

func (h lostReply) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// newRedisStore returns a Redis store closed at the end of the test. The
// refresh is slow unless the options say otherwise, so tests decide when it
// runs (Refresh) and count commands exactly.
func newRedisStore(t testing.TB, rdb redis.UniversalClient, o RedisOptions) *Redis {
	t.Helper()
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Refresh == 0 {
		o.Refresh = time.Hour
	}
	if o.Log == nil {
		o.Log = quiet
	}
	s := NewRedis(rdb, o)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// testSale returns a sale of item with stock units.
func testSale(item string, stock int64) *Sale {
	return NewSales([]*config.Sale{{Item: item, Stock: stock}}).Get(item)
}

// uniqueItem returns an item id unique in the test binary.
func uniqueItem() string { return "it" + strconv.FormatInt(itemSeq.Add(1), 10) }

var itemSeq atomic.Int64

// request is one order through the gate.
type request struct {
	ctx *fasthttp.RequestCtx
	st  *filter.State
}

func newRequest(item, user string) *request {
	st := &filter.State{Route: "order", Item: []byte(item)}
	if user != "" {
		st.User = []byte(user)
	}
	return &request{ctx: new(fasthttp.RequestCtx), st: st}
}

func (r *request) status() int  { return r.ctx.Response.StatusCode() }
func (r *request) body() string { return string(r.ctx.Response.Body()) }
func (r *request) header(k string) string {
	return string(r.ctx.Response.Header.Peek(k))
}

// answer sets the shop's response.
func (r *request) answer(status int, body string) {
	r.ctx.Response.SetStatusCode(status)
	r.ctx.Response.SetBodyString(body)
}
