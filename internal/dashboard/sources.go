package dashboard

import "time"

// Sources are the node's live facts that are not metrics: what the
// dashboard shows beside the numbers it reads from the registry. Every field
// is optional (nil: that part of the page says "not available"). The
// collector calls them once per sample from its own goroutine, so they must
// be safe for concurrent use and quick: no network I/O (read cached state,
// such as the stock store's local view or the Redis health flag).
type Sources struct {
	// Upstreams lists the upstream pools in effect and their servers.
	Upstreams func() []UpstreamStatus
	// Sales lists the sales in effect with their counters.
	Sales func() []SaleStatus
	// Hot lists the hot keys, hottest first.
	Hot func() []HotKey
	// Redis reports whether Redis is configured and whether it answers.
	// When nil, the edge_redis_up gauge is used if registered.
	Redis func() (configured, up bool)
	// Config reports the version of the configuration in effect, when it
	// took effect, and the error of the last failed reload ("" after a
	// good one).
	Config func() (version uint64, loadedAt time.Time, lastError string)
}

// UpstreamStatus is one upstream pool as the dashboard shows it.
type UpstreamStatus struct {
	// Name is the upstream's name in the config.
	Name string `json:"name"`
	// Servers are its servers in config order.
	Servers []ServerStatus `json:"servers"`
}

// ServerStatus is one upstream server.
type ServerStatus struct {
	// Addr is host:port as configured.
	Addr string `json:"addr"`
	// Healthy is false while active health checks have it out.
	Healthy bool `json:"healthy"`
	// Ejected is true while passive failure counting has it out.
	Ejected bool `json:"ejected"`
	// InFlight counts requests waiting for this server's answer.
	InFlight int `json:"in_flight"`
	// Fails counts consecutive failed requests.
	Fails int `json:"fails"`
}

// SaleStatus is one sale's state and counters.
type SaleStatus struct {
	// Name labels the sale (edge_stock_* metrics, admin API).
	Name string `json:"name"`
	// Item is the item id orders carry.
	Item string `json:"item"`
	// State is not_started, on_sale, sold_out or ended.
	State string `json:"state"`
	// Stock is the configured number of units.
	Stock int64 `json:"stock"`
	// Known is false while the node has no counters for the sale yet
	// (Remaining, Reserved and Sold are then zero).
	Known bool `json:"known"`
	// Remaining units that can still be taken.
	Remaining int64 `json:"remaining"`
	// Reserved units: taken by orders the shop has not answered yet.
	Reserved int64 `json:"reserved"`
	// Sold units: the shop accepted the order.
	Sold int64 `json:"sold"`
	// Starts and Ends bound the sale window; zero means unbounded.
	Starts time.Time `json:"starts,omitzero"`
	Ends   time.Time `json:"ends,omitzero"`
}

// HotKey is one key that gets more traffic than the hot threshold.
type HotKey struct {
	// Kind is "url" (a cache key) or "item" (an item id of orders).
	Kind string `json:"kind"`
	// Key is the cache key or item id.
	Key string `json:"key"`
	// Rate is the key's requests per second.
	Rate float64 `json:"rate_per_second"`
	// Source is "local" (found by this node) or "remote" (announced by
	// another node).
	Source string `json:"source,omitempty"`
}
