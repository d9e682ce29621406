package stock

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sold-out news travels on the channel <prefix>stock as "<ver> <1|0> <item>":
// 1 when the item became sold out, 0 when units became available again. The
// script publishes it in the same atomic step as the change, so exactly one
// message follows each change whichever node made it. A plain PUBLISH
// reaches every node of a Redis Cluster.

// subscribeWait bounds how long NewRedis waits for the subscription to be
// confirmed (a Redis that is down does not hold up the start for longer;
// the subscription keeps reconnecting in the background).
const subscribeWait = 500 * time.Millisecond

// subscribe listens for sold-out news until ctx ends. It closes ready once
// the subscription is confirmed or could not be made at once.
func (s *Redis) subscribe(ctx context.Context, ready chan<- struct{}) {
	defer s.done.Done()
	ps := s.rdb.Subscribe(ctx, s.channel)
	wait := max(s.timeout, subscribeWait)
	if _, err := ps.ReceiveTimeout(ctx, wait); err != nil {
		s.log.Warn("stock: sold-out subscription not confirmed yet; retrying in the background",
			slog.String("channel", s.channel), slog.Any("err", err))
	}
	close(ready)
	// Closing ps ends the channel's goroutines; it must happen before
	// waiting on the channel's end, which only comes with the close.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()
	ch := ps.ChannelWithSubscriptions(redis.WithChannelSize(1024),
		redis.WithChannelHealthCheckInterval(time.Second))
	for m := range ch {
		switch m := m.(type) {
		case *redis.Message:
			s.onNews(m.Payload)
		case *redis.Subscription:
			// A (re)subscription: news may have been missed meanwhile.
			s.kickRefresh()
		}
	}
}

// onNews applies one sold-out message to the item's flag, if this node
// knows the item. Stale news (an older version) is ignored.
func (s *Redis) onNews(payload string) {
	verS, rest, ok := strings.Cut(payload, " ")
	if !ok {
		return
	}
	state, item, ok := strings.Cut(rest, " ")
	if !ok || (state != "0" && state != "1") {
		return
	}
	ver, err := strconv.ParseUint(verS, 10, 64)
	if err != nil {
		return
	}
	if v := (*s.views.Load())[item]; v != nil {
		v.flag.apply(ver, state == "1")
	}
}

// kickRefresh asks the refresh loop for a pass now.
func (s *Redis) kickRefresh() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}
