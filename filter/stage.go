// Package filter is the funnel: the stages a request passes through before it
// may reach the shop, cheapest and widest first. A stage is built once per
// route from its typed config and shared by all that route's requests.
package filter

import (
	"net/netip"
	"sync"

	"github.com/valyala/fasthttp"
)

// Verdict is what a stage decided about a request.
type Verdict uint8

const (
	// Continue passes the request to the next stage.
	Continue Verdict = iota
	// Served means the stage wrote the response itself (a cache hit, an
	// edge-answered endpoint); nothing later runs.
	Served
	// Rejected means the stage refused the request and wrote the refusal.
	Rejected
)

// Stage is one filter of the funnel. Implementations are safe for concurrent
// use: one value serves every request of its route.
type Stage interface {
	// Name is the stage's label in metrics ("ratelimit", "quiz"...).
	Name() string
	// Handle looks at the request and either passes it on or answers it.
	Handle(ctx *fasthttp.RequestCtx, st *State) Verdict
}

// Afterer is implemented by stages that need to see the outcome: After runs
// in reverse order for every stage whose Handle ran, once the response is
// known (to keep or give back a stock unit, to store a response...).
type Afterer interface {
	After(ctx *fasthttp.RequestCtx, st *State)
}

// Closer is implemented by stages holding resources (goroutines, Redis
// subscriptions) that must be released when a reload retires the route.
type Closer interface {
	Close() error
}

// State is the per-request scratch shared by the stages of one request. It
// is pooled: nothing may keep it (or any slice in it) after the handler
// returns.
type State struct {
	// Route is the name of the matched route.
	Route string
	// ClientIP is the shopper's address (peer, or X-Forwarded-For from a
	// trusted proxy).
	ClientIP netip.Addr
	// User is the shopper id, empty when unknown.
	User []byte
	// Item is the item id of the request, empty when the route has none.
	Item []byte
	// Reserved is set by the stock gate when a unit was taken.
	Reserved bool
	// Stage names the stage that answered (served or rejected), for logs.
	Stage string
	// Reason is the refusal reason ("rate_limited"...), for logs/metrics.
	Reason string
}

var statePool = sync.Pool{New: func() any { return new(State) }}

// AcquireState returns an empty State from the pool.
func AcquireState() *State { return statePool.Get().(*State) }

// ReleaseState resets st and returns it to the pool.
func ReleaseState(st *State) {
	user, item := st.User[:0], st.Item[:0]
	*st = State{User: user, Item: item}
	statePool.Put(st)
}
