package filter

import (
	"bytes"

	"edge/internal/config"

	"github.com/valyala/fasthttp"
)

// MaxItemIDLen bounds an item id in bytes (the same rule config applies to
// sales, so every sale item can be requested).
const MaxItemIDLen = config.MaxItemIDLen

// Item is the funnel stage "item": it copies the request's item id into
// State.Item from the one place the route's config names (a query parameter,
// a form field of an application/x-www-form-urlencoded or multipart/form-data
// body, a header, or a path segment). A missing or malformed id (empty,
// longer than MaxItemIDLen bytes, or with characters outside
// [A-Za-z0-9_.:-]) gets 400 {"error":"item_invalid"}: later stages key
// limits, sales and stock on it, so it must be present and well-formed.
// Extraction does not allocate (except for multipart bodies, which the
// parser must read).
type Item struct {
	query   string
	form    string
	header  string
	segment int
}

var _ Stage = (*Item)(nil)

// NewItem builds the item stage from cfg; it returns nil when cfg is nil
// (the route has no item). When several sources are set (validation
// forbids it) the first of query, form, header, path segment is used.
func NewItem(cfg *config.Item) *Item {
	if cfg == nil {
		return nil
	}
	it := &Item{}
	switch {
	case cfg.Query != "":
		it.query = cfg.Query
	case cfg.Form != "":
		it.form = cfg.Form
	case cfg.Header != "":
		it.header = cfg.Header
	default:
		it.segment = cfg.PathSegment
	}
	return it
}

// Name returns "item".
func (it *Item) Name() string { return "item" }

// Handle copies the item id into st.Item or refuses the request.
func (it *Item) Handle(ctx *fasthttp.RequestCtx, st *State) Verdict {
	v := it.extract(ctx)
	if !ValidItemID(v) {
		st.Item = st.Item[:0]
		return Reject(ctx, st, it.Name(), fasthttp.StatusBadRequest, "item_invalid", 0)
	}
	st.Item = append(st.Item[:0], v...)
	return Continue
}

func (it *Item) extract(ctx *fasthttp.RequestCtx) []byte {
	switch {
	case it.query != "":
		return ctx.QueryArgs().Peek(it.query)
	case it.form != "":
		if v := ctx.PostArgs().Peek(it.form); len(v) > 0 {
			return v
		}
		if !bytes.HasPrefix(ctx.Request.Header.ContentType(), []byte("multipart/form-data")) {
			return nil
		}
		f, err := ctx.MultipartForm()
		if err != nil || len(f.Value[it.form]) == 0 {
			return nil
		}
		return []byte(f.Value[it.form][0])
	case it.header != "":
		return ctx.Request.Header.Peek(it.header)
	default:
		return pathSegment(ctx.Path(), it.segment)
	}
}

// pathSegment returns the n-th (1-based) segment of path: /order/42 has
// "order" as segment 1 and "42" as segment 2. Empty segments (//) count.
func pathSegment(path []byte, n int) []byte {
	if n < 1 || len(path) == 0 || path[0] != '/' {
		return nil
	}
	path = path[1:]
	for i := 1; ; i++ {
		j := bytes.IndexByte(path, '/')
		if i == n {
			if j < 0 {
				return path
			}
			return path[:j]
		}
		if j < 0 {
			return nil
		}
		path = path[j+1:]
	}
}

// ValidItemID reports whether b is a well-formed item id: 1 to MaxItemIDLen
// bytes of [A-Za-z0-9_.:-].
func ValidItemID(b []byte) bool {
	if len(b) == 0 || len(b) > MaxItemIDLen {
		return false
	}
	for _, c := range b {
		if !itemChar[c] {
			return false
		}
	}
	return true
}

var itemChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "_.:-" {
		t[c] = true
	}
	return t
}()
