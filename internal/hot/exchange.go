package hot

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"os"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultChannel is the Redis pub/sub channel of hot-key announcements when
// Start is given none.
const DefaultChannel = "edge:hot"

const (
	// announceEvery: while a node has hot keys it announces them this often
	// (and at once when a key becomes hot).
	announceEvery = window / 2
	// remoteTTL: a remote key not announced again within this time expires.
	remoteTTL = 2 * window
	// maxAnnounceBytes bounds one announcement; the hottest keys go first.
	maxAnnounceBytes = 64 << 10
	// publishTimeout bounds one PUBLISH.
	publishTimeout = 250 * time.Millisecond
	// announceVersion is the payload format.
	announceVersion = 1
)

// announcement is the payload published on the channel.
type announcement struct {
	V    int            `json:"v"`
	Node string         `json:"node"`
	Keys []announcedKey `json:"keys"`
}

type announcedKey struct {
	Kind string  `json:"kind"`
	Key  string  `json:"key"`
	Rate float64 `json:"rate"`
}

// remoteEntry is a key another node announced as hot.
type remoteEntry struct {
	hash    uint64
	rate    float64
	since   time.Time
	expires time.Time
}

// Start runs the ticker (every 100 ms: see Tick) and, when rdb is not nil,
// the exchange of hot keys through Redis pub/sub on channel (""
// means DefaultChannel): this node's hot keys are published, and the keys
// other nodes publish are treated as hot here too. It returns at once; the
// goroutines stop when ctx is done. log (nil: slog.Default) receives the
// exchange's failures, once per change between working and failing. Start
// runs once per Detector; later calls do nothing.
func (d *Detector) Start(ctx context.Context, rdb redis.UniversalClient, channel string, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	if !d.running.CompareAndSwap(false, true) {
		log.Warn("hot-key detector already started")
		return
	}
	if channel == "" {
		channel = DefaultChannel
	}
	if rdb != nil {
		pub := make(chan []byte, 1)
		d.tickMu.Lock()
		d.pub = pub
		d.tickMu.Unlock()
		go d.publishLoop(ctx, rdb, channel, pub, log)
		go d.subscribeLoop(ctx, rdb, channel, log)
	}
	go d.run(ctx)
}

// announce hands the locally hot keys (hottest first, at most top, at most
// maxAnnounceBytes) to the publisher, replacing an announcement it has not
// sent yet. Called by tick with tickMu held.
func (d *Detector) announce(local []member, top int) {
	if d.pub == nil {
		return
	}
	sorted := append([]member(nil), local...)
	sortByRate(sorted)
	a := announcement{V: announceVersion, Node: d.node}
	size := 64
	for _, m := range sorted[:min(len(sorted), top)] {
		size += len(m.key) + 64
		if size > maxAnnounceBytes {
			break
		}
		a.Keys = append(a.Keys, announcedKey{Kind: m.kind.String(), Key: m.key, Rate: math.Round(m.rate*10) / 10})
	}
	b, err := json.Marshal(a)
	if err != nil {
		return // cannot happen: plain strings and finite numbers
	}
	select {
	case <-d.pub: // drop the stale one
	default:
	}
	select {
	case d.pub <- b:
	default:
	}
}

func (d *Detector) publishLoop(ctx context.Context, rdb redis.UniversalClient, channel string, pub <-chan []byte, log *slog.Logger) {
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-pub:
			cctx, cancel := context.WithTimeout(ctx, publishTimeout)
			err := rdb.Publish(cctx, channel, b).Err()
			cancel()
			if err != nil {
				d.m.exchangeError("publish")
				if !failing && ctx.Err() == nil {
					log.Warn("hot keys: publish failed", "channel", channel, "err", fmt.Errorf("redis publish: %w", err))
				}
				failing = true
			} else if failing {
				log.Info("hot keys: publishing again", "channel", channel)
				failing = false
			}
		}
	}
}

// subscribeLoop receives other nodes' announcements. The subscription
// reconnects by itself after Redis failures.
func (d *Detector) subscribeLoop(ctx context.Context, rdb redis.UniversalClient, channel string, log *slog.Logger) {
	ps := rdb.Subscribe(ctx, channel)
	defer ps.Close()
	msgs := ps.Channel(redis.WithChannelHealthCheckInterval(5 * time.Second))
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-msgs:
			if !ok {
				return
			}
			if err := d.receive([]byte(msg.Payload)); err != nil {
				d.m.exchangeError("receive")
				log.Debug("hot keys: bad announcement", "channel", channel, "err", err)
			}
		}
	}
}

// receive applies one announcement: its keys are hot here until remoteTTL
// after their last announcement. At most 4×top remote keys per kind are
// kept; further ones are dropped until some expire. The node's own
// announcements are ignored.
func (d *Detector) receive(payload []byte) error {
	if len(payload) > 2*maxAnnounceBytes {
		return fmt.Errorf("announcement of %d bytes is too large", len(payload))
	}
	var a announcement
	if err := json.Unmarshal(payload, &a); err != nil {
		return fmt.Errorf("decode announcement: %w", err)
	}
	if a.V != announceVersion {
		return fmt.Errorf("announcement version %d not understood", a.V)
	}
	if a.Node == d.node {
		return nil
	}
	now := d.now()
	limit := candidatesPerTop * d.set.Load().top
	d.remoteMu.Lock()
	defer d.remoteMu.Unlock()
	var count [numKinds]int
	for k := range d.remote {
		count[k.kind]++
	}
	for _, k := range a.Keys {
		kind, ok := parseKind(k.Kind)
		if !ok || k.Key == "" || len(k.Key) > maxKeyLen || math.IsNaN(k.Rate) || math.IsInf(k.Rate, 0) || k.Rate < 0 {
			continue
		}
		mk := memberKey{kind, k.Key}
		if e, ok := d.remote[mk]; ok {
			e.rate, e.expires = k.Rate, now.Add(remoteTTL)
			continue
		}
		if count[kind] >= limit {
			continue
		}
		count[kind]++
		d.remote[mk] = &remoteEntry{
			hash:    fix(maphash.String(d.seed, k.Key)),
			rate:    k.Rate,
			since:   now,
			expires: now.Add(remoteTTL),
		}
	}
	return nil
}

// mergeRemote drops expired remote keys and returns local followed by the
// remote keys that are not hot locally. Called by tick with tickMu held.
func (d *Detector) mergeRemote(now time.Time, local []member) []member {
	d.remoteMu.Lock()
	defer d.remoteMu.Unlock()
	if len(d.remote) == 0 {
		return local
	}
	var seen map[memberKey]struct{}
	if len(local) > 0 {
		seen = make(map[memberKey]struct{}, len(local))
		for _, m := range local {
			seen[memberKey{m.kind, m.key}] = struct{}{}
		}
	}
	all := append(make([]member, 0, len(local)+len(d.remote)), local...)
	for k, e := range d.remote {
		if !now.Before(e.expires) {
			delete(d.remote, k)
			continue
		}
		if _, ok := seen[k]; ok {
			continue
		}
		all = append(all, member{kind: k.kind, key: k.key, hash: e.hash, rate: e.rate, since: e.since, source: SourceRemote})
	}
	return all
}

// sortByRate orders ms hottest first.
func sortByRate(ms []member) {
	slices.SortFunc(ms, func(a, b member) int { return cmp.Compare(b.rate, a.rate) })
}

// nodeID names this process in announcements: host, pid and a random part
// (two processes with one pid in different containers stay apart).
func nodeID() string {
	host, _ := os.Hostname()
	var r [6]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(r[:]))
}
