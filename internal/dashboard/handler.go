package dashboard

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"strings"

	"github.com/valyala/fasthttp"
)

//go:embed web/index.html
var pageHTML string

//go:embed web/dashboard.css
var pageCSS string

//go:embed web/dashboard.js
var pageJS string

// page is the dashboard with its style and script inlined: one response,
// no other request than /stats, so it works offline and behind any path
// prefix. csp allows exactly that inline style and script (by hash) and
// fetches to the same origin.
var page, csp = assemble()

func assemble() (body []byte, policy string) {
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	html := strings.Replace(pageHTML, "/*STYLE*/", pageCSS, 1)
	html = strings.Replace(html, "/*SCRIPT*/", pageJS, 1)
	policy = "default-src 'none'; script-src " + hash(pageJS) + "; style-src " + hash(pageCSS) +
		"; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	return []byte(html), policy
}

// Handlers returns the two endpoints, to be registered on the admin
// listener:
//
//   - stats: GET /stats, the latest Stats as JSON (application/json). Every
//     call within one interval answers the same bytes, with an ETag; a
//     request whose If-None-Match has it gets 304 without a body, so the
//     page can ask several times per interval and catch each sample early.
//     A sampler must run (Run) for the numbers to move.
//   - page: GET /dashboard, the HTML page. It polls "stats" relative to its
//     own URL four times per interval and redraws on each new sample. When /stats needs the admin token (guard_reads),
//     open the page as /dashboard#token=TOKEN (kept in the tab's
//     sessionStorage, never sent in a URL) or type it into the form the page
//     shows on 401. The page itself holds no data, so it may be served
//     without the token.
func (c *Collector) Handlers() (stats, page fasthttp.RequestHandler) {
	return c.serveStats, servePage
}

func (c *Collector) serveStats(ctx *fasthttp.RequestCtx) {
	sn := c.snapshot()
	if sn == nil {
		ctx.Response.Header.Set("Retry-After", "1")
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"error":"unavailable"}`)
		return
	}
	h := &ctx.Response.Header
	h.Set("Cache-Control", "no-store")
	h.Set("ETag", sn.etag)
	if string(ctx.Request.Header.Peek(fasthttp.HeaderIfNoneMatch)) == sn.etag {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	ctx.SetContentType("application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	ctx.Response.SetBodyRaw(sn.json)
}

func servePage(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.SetContentType("text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	ctx.Response.SetBodyRaw(page)
}
