package stock

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"edge/filter"
)

// EdgePrefix is the public path of the stock endpoint; the item id follows.
const EdgePrefix = "/_edge/stock/"

// StockHandler answers GET /_edge/stock/{item} on the public listener with
// the item's remaining units and state:
//
//	{"item":"42","remaining":17,"state":"on_sale"}
//
// state is not_started, on_sale, sold_out or ended; remaining is null while
// this node has not read the counters yet (the first moments after a start
// on Redis). The answer may be cached for a second (Cache-Control: public,
// max-age=1), so pages can include it as an ESI fragment or poll it from
// scripts. It never touches Redis: the counters come from this node's view
// (exact for the memory store, refreshed every RedisOptions.Refresh for
// Redis). An item not on sale gets 404 {"error":"not_on_sale"}; methods
// other than GET and HEAD get 405.
func StockHandler(l *Ledger) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if !ctx.IsGet() && !ctx.IsHead() {
			filter.Reject(ctx, nil, "stock", fasthttp.StatusMethodNotAllowed, "method_not_allowed", 0)
			ctx.Response.Header.Set(fasthttp.HeaderAllow, "GET, HEAD")
			return
		}
		path := ctx.Path()
		if len(path) <= len(EdgePrefix) || string(path[:len(EdgePrefix)]) != EdgePrefix {
			filter.Reject(ctx, nil, "stock", fasthttp.StatusNotFound, decNotOnSale, 0)
			return
		}
		sale := l.Sales().Lookup(path[len(EdgePrefix):])
		if sale == nil {
			filter.Reject(ctx, nil, "stock", fasthttp.StatusNotFound, decNotOnSale, 0)
			return
		}
		info, known := l.store.Local(sale)
		soldOut := l.store.SoldOut(sale) || (known && info.SoldOut)
		state := sale.State(l.now(), soldOut)

		ctx.Response.Reset()
		ctx.SetContentType("application/json")
		ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "public, max-age=1")
		var buf [256]byte
		b := append(buf[:0], `{"item":`...)
		b = append(b, sale.itemJSON...)
		b = append(b, `,"remaining":`...)
		if known {
			b = strconv.AppendInt(b, max(info.Remaining, 0), 10)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"state":"`...)
		b = append(b, state...)
		b = append(b, "\"}"...)
		ctx.Response.SetBody(b)
	}
}
