package main

import (
	"encoding/json"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"edge/bench/compare/pages"
)

// Path families counted by /_count, one counter each.
const (
	famHot = iota
	famU
	famESI
	famSSI
	famFragC
	famFragU
	famSlow
	famOther
	famCount
)

var famNames = [famCount]string{"hot", "u", "esi", "ssi", "frag_c", "frag_u", "slow", "other"}

// Origin serves every page of the comparison and counts requests per path
// family, so that the runner can tell how many requests each server under
// test let through.
type Origin struct {
	// FragDelay is how long an uncached fragment (/frag/u*) takes.
	FragDelay time.Duration
	// SlowDelay is how long a /slow/ page takes.
	SlowDelay time.Duration
	// SetCookie adds a Set-Cookie header to every page, as a shop's
	// backend does; the servers under test must neither store nor forward
	// it.
	SetCookie bool

	counts [famCount]atomic.Int64

	hot, slow  []byte
	u          [][]byte
	esi, ssi   map[pages.Kind][]byte
	frags      map[string][]byte
	uncachedFr map[string]bool
}

// NewOrigin builds the origin with its pages: urls distinct /u/{n} pages.
func NewOrigin(urls int, fragDelay, slowDelay time.Duration) *Origin {
	o := &Origin{
		FragDelay:  fragDelay,
		SlowDelay:  slowDelay,
		SetCookie:  true,
		hot:        pages.Hot(),
		slow:       pages.Slow(),
		u:          make([][]byte, urls),
		esi:        map[pages.Kind][]byte{},
		ssi:        map[pages.Kind][]byte{},
		frags:      map[string][]byte{},
		uncachedFr: map[string]bool{},
	}
	for n := range o.u {
		o.u[n] = pages.U(n)
	}
	for _, k := range []pages.Kind{pages.Cached, pages.Uncached} {
		o.esi[k], o.ssi[k] = pages.ESI(k), pages.SSI(k)
		for i := 1; i <= pages.Fragments; i++ {
			p := pages.FragmentPath(k, i)
			o.frags[p] = pages.Fragment(k, i)
			o.uncachedFr[p] = k == pages.Uncached
		}
	}
	return o
}

const (
	cacheable = "public, max-age=3600"
	htmlType  = "text/html; charset=utf-8"
)

// Handle is the fasthttp handler of the origin.
func (o *Origin) Handle(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	switch {
	case path == "/_count":
		o.serveCounts(ctx)
	case path == "/healthz":
		ctx.SetBodyString("ok\n")
	case path == "/hot":
		o.page(ctx, famHot, o.hot)
	case len(path) > len("/u/") && path[:len("/u/")] == "/u/":
		n, err := strconv.Atoi(path[len("/u/"):])
		if err != nil || n < 0 || n >= len(o.u) {
			o.notFound(ctx)
			return
		}
		o.page(ctx, famU, o.u[n])
	case len(path) > len("/slow/") && path[:len("/slow/")] == "/slow/":
		o.counts[famSlow].Add(1)
		time.Sleep(o.SlowDelay)
		o.page(ctx, -1, o.slow)
	case len(path) > len("/frag/") && path[:len("/frag/")] == "/frag/":
		body, ok := o.frags[path]
		if !ok {
			o.notFound(ctx)
			return
		}
		ctx.Response.Header.SetContentType(htmlType)
		if o.uncachedFr[path] {
			o.counts[famFragU].Add(1)
			time.Sleep(o.FragDelay)
			ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
		} else {
			o.counts[famFragC].Add(1)
			ctx.Response.Header.Set(fasthttp.HeaderCacheControl, cacheable)
		}
		ctx.Response.SetBodyRaw(body)
	default:
		o.includePage(ctx, path)
	}
}

// includePage serves /esi/{kind} and /ssi/{kind}.
func (o *Origin) includePage(ctx *fasthttp.RequestCtx, path string) {
	for _, k := range []pages.Kind{pages.Cached, pages.Uncached} {
		switch path {
		case "/esi/" + k.Name():
			o.page(ctx, famESI, o.esi[k])
			return
		case "/ssi/" + k.Name():
			o.page(ctx, famSSI, o.ssi[k])
			return
		}
	}
	o.notFound(ctx)
}

// page answers with a cacheable HTML page and counts it in fam (none when
// fam is negative).
func (o *Origin) page(ctx *fasthttp.RequestCtx, fam int, body []byte) {
	if fam >= 0 {
		o.counts[fam].Add(1)
	}
	h := &ctx.Response.Header
	h.SetContentType(htmlType)
	h.Set(fasthttp.HeaderCacheControl, cacheable)
	if o.SetCookie {
		h.Set(fasthttp.HeaderSetCookie, "origin_session=fresh; Path=/; HttpOnly")
	}
	ctx.Response.SetBodyRaw(body)
}

func (o *Origin) notFound(ctx *fasthttp.RequestCtx) {
	o.counts[famOther].Add(1)
	ctx.Error("not found\n", fasthttp.StatusNotFound)
}

// Counts returns the requests served so far per path family, with their
// sum under "total".
func (o *Origin) Counts() map[string]int64 {
	out := make(map[string]int64, famCount+1)
	var total int64
	for i, name := range famNames {
		n := o.counts[i].Load()
		out[name] = n
		total += n
	}
	out["total"] = total
	return out
}

func (o *Origin) serveCounts(ctx *fasthttp.RequestCtx) {
	body, err := json.Marshal(o.Counts())
	if err != nil { // a map of int64 always marshals
		ctx.Error("internal error\n", fasthttp.StatusInternalServerError)
		return
	}
	ctx.Response.Header.SetContentType("application/json")
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	ctx.SetBody(body)
}
