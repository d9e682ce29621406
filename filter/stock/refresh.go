package stock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxPending bounds the keeps and give-backs waiting to be retried. Past it
// a give-back is dropped and its unit stays reserved (never oversold); an
// operator can correct the stock with PUT /stock/{item}.
const maxPending = 1 << 16

// pendingOp is a keep or give-back that failed and is retried by the
// refresh. Both are idempotent by id, so retrying is always safe.
type pendingOp struct {
	give bool
	v    *rview
	id   uint64
}

// queue keeps op for the next refresh.
func (s *Redis) queue(op pendingOp) {
	s.pendMu.Lock()
	full := len(s.pending) >= maxPending
	if !full {
		s.pending = append(s.pending, op)
	}
	s.pendMu.Unlock()
	if full {
		s.dropped.Add(1)
	}
}

// Pending returns the number of keeps and give-backs waiting to be retried.
func (s *Redis) Pending() int {
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	return len(s.pending)
}

// refreshLoop runs Refresh every s.refresh (and when kicked) until ctx ends.
func (s *Redis) refreshLoop(ctx context.Context) {
	defer s.done.Done()
	t := time.NewTicker(s.refresh)
	defer t.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
		err := s.Refresh(ctx)
		// Log a failing refresh when its cause changes, not every pass.
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if msg != lastErr {
			if err != nil {
				s.log.Warn("stock: refresh from Redis failed", slog.Any("err", err))
			} else {
				s.log.Info("stock: refresh from Redis works again")
			}
			lastErr = msg
		}
		if n := s.dropped.Swap(0); n > 0 {
			s.log.Error("stock: give-backs dropped, their units stay reserved until corrected with PUT /stock/{item}",
				slog.Int64("units", n))
		}
	}
}

// Refresh does one pass of the background work now: it retries failed
// seeds, keeps and give-backs, then reads the counters of every item this
// node knows in one pipeline, updating the local view (the edge endpoint,
// the gauges and sold-out flags whose news was missed) and noticing state
// that vanished from Redis.
func (s *Redis) Refresh(ctx context.Context) error {
	var errs []error
	if err := s.retryPending(ctx); err != nil {
		errs = append(errs, err)
	}
	views := *s.views.Load()
	list := make([]*rview, 0, len(views))
	for _, v := range views {
		if v.seeding.Load() {
			if _, err := s.seedView(ctx, v); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		list = append(list, v)
	}
	if len(list) == 0 {
		return errors.Join(errs...)
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	cmds := make([]*redis.SliceCmd, len(list))
	_, err := s.rdb.Pipelined(pctx, func(p redis.Pipeliner) error {
		for i, v := range list {
			cmds[i] = p.HMGet(pctx, v.kStock, infoFields...)
		}
		return nil
	})
	cancel()
	if err != nil {
		errs = append(errs, fmt.Errorf("stock: redis refresh: %w", err))
	}
	for i, c := range cmds {
		if c.Err() == nil {
			s.absorb(ctx, list[i], c.Val())
		}
	}
	return errors.Join(errs...)
}

// retryPending runs the queued keeps and give-backs. It stops at the first
// failure (Redis is still away) and keeps the rest for the next pass.
func (s *Redis) retryPending(ctx context.Context) error {
	s.pendMu.Lock()
	ops := s.pending
	s.pending = nil
	s.pendMu.Unlock()
	for i, op := range ops {
		cmd := "keep"
		if op.give {
			cmd = "give"
		}
		res, err := s.run(ctx, op.v, op.id, cmd)
		if err != nil {
			s.pendMu.Lock()
			s.pending = append(ops[i:], s.pending...)
			if len(s.pending) > maxPending {
				s.dropped.Add(int64(len(s.pending) - maxPending))
				s.pending = s.pending[:maxPending]
			}
			s.pendMu.Unlock()
			return err
		}
		if op.give && res[0] == 1 {
			op.v.absorbReply(res)
		}
	}
	return nil
}
