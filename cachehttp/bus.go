package cachehttp

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Purge bus settings.
const (
	// busQueue bounds purges waiting to be published; beyond it a purge is
	// applied locally only, and logged.
	busQueue = 1024
	// busTimeout bounds one PUBLISH and the initial SUBSCRIBE.
	busTimeout = 2 * time.Second
)

// busConn is the publishing side of a started bus.
type busConn struct {
	out chan busMessage
	log *slog.Logger
}

// busMessage is a purge as sent on the bus.
type busMessage struct {
	// Node is the sender's id: a node ignores its own purges.
	Node string `json:"node"`
	PurgeRequest
}

// StartBus makes purges fleet-wide through Redis pub/sub on channel: every
// local Purge is published, and purges published by other nodes are
// applied here (within a second: pub/sub delivery is immediate). It returns
// once subscribed (or after busTimeout, logging why; go-redis keeps
// reconnecting). The bus stops when ctx ends. Call it once per Cache.
//
// Delivery is at most once, as pub/sub is: a node cut off from Redis while a
// purge is published keeps its copy until the entry expires. Unsafe-method
// invalidations stay local.
func (c *Cache) StartBus(ctx context.Context, rdb redis.UniversalClient, channel string, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "cache-bus", "channel", channel)
	ps := rdb.Subscribe(ctx, channel)
	sctx, cancel := context.WithTimeout(ctx, busTimeout)
	if _, err := ps.Receive(sctx); err != nil {
		log.Warn("purge bus: subscribe failed, retrying in the background", "err", err)
	}
	cancel()
	b := &busConn{out: make(chan busMessage, busQueue), log: log}
	c.bus.Store(b)
	msgs := ps.Channel(redis.WithChannelSize(256))
	go func() {
		<-ctx.Done()
		c.bus.CompareAndSwap(b, nil)
		_ = ps.Close()
	}()
	go c.receive(ctx, msgs, log)
	go b.publish(ctx, rdb, channel)
}

// publish queues req for the bus, if one runs.
func (c *Cache) publish(req PurgeRequest) {
	b := c.bus.Load()
	if b == nil {
		return
	}
	select {
	case b.out <- busMessage{Node: c.node, PurgeRequest: req}:
	default:
		b.log.Warn("purge bus: queue full, purge applied on this node only", "url", req.URL, "prefix", req.Prefix, "tag", req.Tag)
	}
}

// publish sends queued purges until ctx ends.
func (b *busConn) publish(ctx context.Context, rdb redis.UniversalClient, channel string) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-b.out:
			payload, err := json.Marshal(m)
			if err != nil {
				b.log.Error("purge bus: encode", "err", err)
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, busTimeout)
			err = rdb.Publish(pctx, channel, payload).Err()
			cancel()
			if err != nil {
				b.log.Warn("purge bus: publish failed, purge applied on this node only", "err", err)
			}
		}
	}
}

// receive applies the purges other nodes publish.
func (c *Cache) receive(ctx context.Context, msgs <-chan *redis.Message, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-msgs:
			if !ok {
				return
			}
			var m busMessage
			if err := json.Unmarshal([]byte(msg.Payload), &m); err != nil {
				log.Warn("purge bus: undecodable message", "err", err)
				continue
			}
			if m.Node == c.node {
				continue
			}
			n := c.purgeLocal(m.PurgeRequest)
			log.Debug("purge bus: applied", "from", m.Node, "url", m.URL, "prefix", m.Prefix, "tag", m.Tag, "soft", m.Soft, "purged", n)
			if c.onRemote != nil {
				c.onRemote()
			}
		}
	}
}
