package gateway

import (
	"errors"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"edge/filter"
	"edge/filter/queue"
	"edge/internal/config"
	"edge/upstream"
)

// buildQueue builds a route's queue stage: the per-item queue in front of
// the shop (mode sync), or the async order queue (mode async), whose
// dispatcher forwards the queued orders as the route would.
func buildQueue(rc *config.Route, t *Table, d *Deps) (filter.Stage, error) {
	if rc.Queue.Mode != "async" {
		q, err := queue.New(rc.Name, rc.Queue, d.Stages.Queue)
		if err != nil {
			return nil, err
		}
		return q, nil
	}
	hub := d.Stages.Orders
	if hub == nil {
		return nil, errors.New(`mode "async" is not available in this process`)
	}
	pool, ok := t.pools[rc.Upstream]
	if !ok {
		return nil, fmt.Errorf("unknown upstream %q", rc.Upstream)
	}
	fwd := &upstream.Forwarder{Via: t.cfg.Server.Via, Host: t.cfg.Upstreams[rc.Upstream].Host}
	res := t.resolver
	prepare := func(ctx *fasthttp.RequestCtx, st *filter.State, out *fasthttp.Request) {
		fwd.PrepareRequest(ctx, out, outboundOf(res, ctx, st.ClientIP))
	}
	s, err := hub.NewStage(rc.Name, rc.Queue, prepare, poolSender{pool: pool, timeout: rc.Timeout.D()})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// poolSender sends queued orders through a route's upstream pool, with the
// route's timeout (0: the pool's).
type poolSender struct {
	pool    *upstream.Pool
	timeout time.Duration
}

// Send implements orders.Sender.
func (s poolSender) Send(req *fasthttp.Request, resp *fasthttp.Response) error {
	return s.pool.Do(req, resp, s.timeout)
}
