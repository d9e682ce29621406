package hot

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"edge/internal/config"
	"edge/internal/redisx"
	"edge/internal/testredis"

	"edge/internal/testutil"
)

func payload(t *testing.T, node string, keys ...announcedKey) []byte {
	t.Helper()
	b, err := json.Marshal(announcement{V: announceVersion, Node: node, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRemoteKeys applies announcements directly (no Redis) with an injected
// clock: remote keys are hot at the next tick, shown as remote, kept while
// announced, expire two windows after the last announcement; bad input is
// refused or skipped.
func TestRemoteKeys(t *testing.T) {
	t.Parallel()
	clk := newClock()
	d := New(hotCfg(500, 2), nil, clk.Now)
	var fired []string
	d.OnHot(func(k Kind, key string) { fired = append(fired, k.String()+":"+key) })

	err := d.receive(payload(t, "node-b",
		announcedKey{Kind: "url", Key: "/item/1", Rate: 900},
		announcedKey{Kind: "item", Key: "42", Rate: 700},
		announcedKey{Kind: "color", Key: "x", Rate: 700},                          // unknown kind
		announcedKey{Kind: "url", Key: strings.Repeat("x", maxKeyLen+1), Rate: 1}, // too long
		announcedKey{Kind: "url", Key: "", Rate: 1},
		announcedKey{Kind: "url", Key: "/neg", Rate: -1},
	))
	if err != nil {
		t.Fatal(err)
	}
	if d.IsHot(URL, []byte("/item/1")) {
		t.Fatal("remote key hot before the tick")
	}
	step(clk, d)
	for _, k := range []struct {
		kind Kind
		key  string
	}{{URL, "/item/1"}, {Item, "42"}} {
		if !d.IsHot(k.kind, []byte(k.key)) {
			t.Fatalf("remote %v %q not hot", k.kind, k.key)
		}
	}
	top := d.Top()
	if len(top) != 2 || top[0].Key != "/item/1" || top[0].Source != SourceRemote || top[0].Rate != 900 || top[1].Key != "42" {
		t.Fatalf("Top = %+v", top)
	}
	if len(fired) != 2 {
		t.Fatalf("OnHot fired %v", fired)
	}

	// Own announcements are ignored.
	if err := d.receive(payload(t, d.node, announcedKey{Kind: "url", Key: "/mine", Rate: 900})); err != nil {
		t.Fatal(err)
	}
	// At most 4×top remote keys per kind.
	var many []announcedKey
	for i := range 20 {
		many = append(many, announcedKey{Kind: "url", Key: "/m/" + strconv.Itoa(i), Rate: 600})
	}
	if err := d.receive(payload(t, "node-c", many...)); err != nil {
		t.Fatal(err)
	}
	step(clk, d)
	if d.IsHot(URL, []byte("/mine")) {
		t.Fatal("own announcement applied")
	}
	if n := len(hotNow(d)); n != 1+candidatesPerTop*2 {
		t.Fatalf("%d keys hot, want the item and %d URLs", n, candidatesPerTop*2)
	}

	// /item/1 re-announced every second stays; the rest expire after 2s.
	for range 3 {
		for range buckets {
			step(clk, d)
		}
		if err := d.receive(payload(t, "node-b", announcedKey{Kind: "url", Key: "/item/1", Rate: 800})); err != nil {
			t.Fatal(err)
		}
	}
	step(clk, d)
	if hot := hotNow(d); len(hot) != 1 || !d.IsHot(URL, []byte("/item/1")) {
		t.Fatalf("after 3s want only /item/1 hot, got %v", hot)
	}
	for range 2*buckets + 1 {
		step(clk, d)
	}
	if d.IsHot(URL, []byte("/item/1")) || len(d.Top()) != 0 {
		t.Fatal("remote key did not expire")
	}

	for _, bad := range []string{`{`, `{"v":2,"node":"x","keys":[]}`, strings.Repeat(" ", 2*maxAnnounceBytes+1)} {
		if err := d.receive([]byte(bad)); err == nil {
			t.Fatalf("receive(%.20q) accepted", bad)
		}
	}
}

// TestAnnouncementBounded: an announcement carries at most top keys, the
// hottest, and stays under maxAnnounceBytes however long the keys are.
func TestAnnouncementBounded(t *testing.T) {
	t.Parallel()
	clk := newClock()
	d := New(hotCfg(10, 1000), nil, clk.Now)
	d.pub = make(chan []byte, 1)
	long := strings.Repeat("k", maxKeyLen-10)
	for range buckets {
		for i := range 100 {
			feed(d, URL, long+strconv.Itoa(i), 10+i)
		}
		step(clk, d)
	}
	var a announcement
	b := <-d.pub
	if len(b) > maxAnnounceBytes {
		t.Fatalf("announcement of %d bytes", len(b))
	}
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	if len(a.Keys) == 0 || len(a.Keys) >= 100 || a.Keys[0].Key != long+"99" {
		t.Fatalf("announced %d keys, first %.20q", len(a.Keys), a.Keys[0].Key)
	}
	t.Logf("100 hot keys of 2 KiB: %d announced in %d bytes", len(a.Keys), len(b))
}

// TestExchangeThroughRedis: a key hot on node A is hot on node B within a
// second, through a real redis-server (single node and cluster), and no
// longer once A stops seeing it. Real time, bounded waits.
func TestExchangeThroughRedis(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		addrs func(t *testing.T) []string
	}{
		{"single", func(t *testing.T) []string { return []string{testredis.Start(t).Addr} }},
		{"cluster", func(t *testing.T) []string { return testredis.StartCluster(t, 3).Addrs() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addrs := tc.addrs(t)
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			channel := "edge:hot:test"
			nodes := make([]*Detector, 2)
			for i := range nodes {
				rdb := redisx.New(&config.Redis{Addrs: addrs, Timeout: config.Duration(time.Second)})
				t.Cleanup(func() { _ = rdb.Close() })
				nodes[i] = New(hotCfg(500, 50), nil, time.Now)
				nodes[i].Start(ctx, rdb, channel, nil)
			}
			a, b := nodes[0], nodes[1]
			var mu sync.Mutex
			var promoted []string
			b.OnHot(func(k Kind, key string) {
				mu.Lock()
				promoted = append(promoted, k.String()+":"+key)
				mu.Unlock()
			})
			key := []byte("https://shop.example/item/viral")

			// Give B's subscription a moment to be in place, measured by an
			// announcement of a warm-up key making the round trip.
			feedCtx, stopFeed := context.WithCancel(ctx)
			go load(feedCtx, a, []byte("warm-up"))
			testutil.WaitFor(t, 5*time.Second, "warm-up key on B", func() bool { return b.IsHot(URL, []byte("warm-up")) })

			go load(feedCtx, a, key)
			testutil.WaitFor(t, 3*time.Second, "hot on A", func() bool { return a.IsHot(URL, key) })
			testutil.WaitFor(t, 3*time.Second, "hot on B", func() bool { return b.IsHot(URL, key) })
			seen := time.Now()
			var hotA time.Time
			for _, e := range a.Top() {
				if e.Key == string(key) {
					hotA = e.Since // when A's tick found it
				}
			}
			if hotA.IsZero() {
				t.Fatalf("A's Top: %+v", a.Top())
			}
			lag := seen.Sub(hotA)
			t.Logf("hot on B %v after A", lag)
			if lag > time.Second {
				t.Fatalf("hot on B %v after A, want within 1s", lag)
			}
			var remote *Entry
			for _, e := range b.Top() {
				if e.Key == string(key) {
					remote = &e
				}
			}
			if remote == nil || remote.Source != SourceRemote || remote.Rate < 500 {
				t.Fatalf("B's Top: %+v", b.Top())
			}
			mu.Lock()
			if !containsString(promoted, "url:"+string(key)) {
				t.Errorf("OnHot on B: %v", promoted)
			}
			mu.Unlock()

			stopFeed()
			// A cools within a window; B forgets within two more.
			testutil.WaitFor(t, 5*time.Second, "cooled on B", func() bool { return !b.IsHot(URL, key) })
		})
	}
}

// load observes key about 5 000 times a second until ctx is done.
func load(ctx context.Context, d *Detector, key []byte) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for range 50 {
				d.Observe(URL, key)
			}
		}
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
