package gateway

import (
	"strings"
	"sync"

	"github.com/valyala/fasthttp"

	"edge/filter"
)

// edgePrefix is the public path space edge answers itself (quiz, stock,
// order tickets); it never reaches an upstream.
const edgePrefix = "/_edge/"

// edgeMux routes /_edge/ requests to the handlers registered by the stages
// that own them.
type edgeMux struct {
	mu       sync.RWMutex
	handlers []edgeHandler
}

type edgeHandler struct {
	prefix string
	h      fasthttp.RequestHandler
}

// HandleEdge registers h for public paths under /_edge/<name>. Registration
// lasts for the process (the handlers look up their current config
// themselves).
func (g *Gateway) HandleEdge(prefix string, h fasthttp.RequestHandler) {
	if !strings.HasPrefix(prefix, edgePrefix) {
		panic("gateway: edge handler outside " + edgePrefix + ": " + prefix)
	}
	g.edge.mu.Lock()
	defer g.edge.mu.Unlock()
	g.edge.handlers = append(g.edge.handlers, edgeHandler{prefix, h})
}

func (m *edgeMux) serve(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	m.mu.RLock()
	var h fasthttp.RequestHandler
	for _, e := range m.handlers {
		if len(path) >= len(e.prefix) && string(path[:len(e.prefix)]) == e.prefix {
			h = e.h
			break
		}
	}
	m.mu.RUnlock()
	if h == nil {
		filter.Reject(ctx, nil, "edge", fasthttp.StatusNotFound, "not_found", 0)
		return
	}
	h(ctx)
}
