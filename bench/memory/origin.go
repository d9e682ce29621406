package main

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// pagePrefix is the path of the product pages: GET /p/{n}, n ≥ 0.
const pagePrefix = "/p/"

// Words the pages are written from. A page is made of them, chosen by its
// number, so every page differs in its name, price and text the way product
// pages do, and compresses the way HTML does (the cache stores a gzip and a
// brotli variant beside the identity body when they are worth it).
var (
	adjectives = []string{"Classic", "Compact", "Deluxe", "Everyday", "Foldable", "Heavy-duty",
		"Lightweight", "Portable", "Premium", "Quiet", "Rugged", "Slim", "Smart", "Wireless"}
	nouns = []string{"Backpack", "Blender", "Camera", "Desk Lamp", "Headphones", "Kettle",
		"Keyboard", "Phone", "Speaker", "Tablet", "Toaster", "Umbrella", "Vacuum", "Watch"}
	colours = []string{"black", "blue", "green", "grey", "red", "silver", "white", "yellow"}
	claims  = []string{
		"Built to last through years of daily use.",
		"Ships within 24 hours from our own warehouse.",
		"Two-year warranty and free returns within 30 days.",
		"Rated four and a half stars by verified buyers.",
		"Made from recycled materials where possible.",
		"Fits in a carry-on bag and weighs next to nothing.",
		"Charges fully in under two hours over USB-C.",
		"Includes a travel pouch and a quick-start guide.",
	}
)

// appendPage appends the HTML of product page n to dst: about 1 KiB,
// the same bytes every time for the same n.
func appendPage(dst []byte, n int) []byte {
	h := uint64(n)*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019 // spreads neighbouring n
	pick := func(k int) int {
		h ^= h >> 29
		h *= 0xBF58476D1CE4E5B9
		return int(h>>33) % k
	}
	name := adjectives[pick(len(adjectives))] + " " + nouns[pick(len(nouns))]
	colour := colours[pick(len(colours))]
	price := 999 + pick(99000)
	id := strconv.Itoa(n)

	dst = append(dst, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>"...)
	dst = append(dst, name...)
	dst = append(dst, " ("...)
	dst = append(dst, colour...)
	dst = append(dst, ") | Shop</title>\n<link rel=\"stylesheet\" href=\"/static/shop.css\">\n"+
		"<script src=\"/static/shop.js\" defer></script></head>\n<body>\n"+
		"<header><a href=\"/\">Shop</a> <nav><a href=\"/deals\">Deals</a> <a href=\"/cart\">Cart</a></nav></header>\n"+
		"<main class=\"product\" data-item=\""...)
	dst = append(dst, id...)
	dst = append(dst, "\">\n<h1>"...)
	dst = append(dst, name...)
	dst = append(dst, "</h1>\n<p class=\"variant\">Colour: "...)
	dst = append(dst, colour...)
	dst = append(dst, "</p>\n<p class=\"price\">"...)
	dst = strconv.AppendInt(dst, int64(price/100), 10)
	dst = append(dst, '.', byte('0'+price%100/10), byte('0'+price%10))
	dst = append(dst, " EUR</p>\n<p class=\"sku\">Item "...)
	dst = append(dst, id...)
	dst = append(dst, "</p>\n<ul class=\"claims\">\n"...)
	for range 4 {
		dst = append(dst, "<li>"...)
		dst = append(dst, claims[pick(len(claims))]...)
		dst = append(dst, "</li>\n"...)
	}
	dst = append(dst, "</ul>\n<form method=\"post\" action=\"/order?item="...)
	dst = append(dst, id...)
	dst = append(dst, "\"><button type=\"submit\">Buy now</button></form>\n"+
		"<p class=\"stock\">Stock is shown at checkout.</p>\n</main>\n"+
		"<footer><a href=\"/help\">Help</a> <a href=\"/shipping\">Shipping</a> "+
		"<a href=\"/privacy\">Privacy</a></footer>\n</body></html>\n"...)
	return dst
}

// origin is the shop behind edge: it answers GET /p/{n} with page n,
// cacheable for an hour and with a Set-Cookie, as a shop's page carrying a
// session would; edge's route strips the cookie and stores the page.
type origin struct {
	srv      *fasthttp.Server
	addr     string
	served   atomic.Int64 // pages served
	cookies  atomic.Int64 // requests that arrived with a Cookie header
	notFound atomic.Int64 // requests for anything else
}

// startOrigin serves on a free loopback port until close.
func startOrigin() (*origin, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	o := &origin{addr: ln.Addr().String()}
	o.srv = &fasthttp.Server{
		Handler:      o.handle,
		Name:         "shop",
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 30 * time.Second,
	}
	go o.srv.Serve(ln) //nolint:errcheck // ends with Shutdown in close
	return o, nil
}

func (o *origin) close() { _ = o.srv.Shutdown() }

var lastModified = []byte("Fri, 11 Dec 2026 10:00:00 GMT")

func (o *origin) handle(ctx *fasthttp.RequestCtx) {
	n, ok := pageNumber(ctx.Path())
	if !ok || !ctx.IsGet() {
		o.notFound.Add(1)
		ctx.Error("not found", fasthttp.StatusNotFound)
		return
	}
	o.served.Add(1)
	if len(ctx.Request.Header.Peek(fasthttp.HeaderCookie)) > 0 {
		o.cookies.Add(1)
	}
	h := &ctx.Response.Header
	h.SetContentType("text/html; charset=utf-8")
	h.Set(fasthttp.HeaderCacheControl, "public, max-age=3600")
	h.Set(fasthttp.HeaderETag, `"p`+strconv.Itoa(n)+`-v1"`)
	h.SetBytesV(fasthttp.HeaderLastModified, lastModified)
	h.Set(fasthttp.HeaderSetCookie, "shop_session=s"+strconv.Itoa(n)+"; Path=/; HttpOnly; SameSite=Lax")
	ctx.Response.SetBodyRaw(appendPage(make([]byte, 0, 1280), n))
}

// pageNumber parses /p/{n}.
func pageNumber(path []byte) (int, bool) {
	rest, ok := bytes.CutPrefix(path, []byte(pagePrefix))
	if !ok || len(rest) == 0 {
		return 0, false
	}
	n, err := strconv.Atoi(string(rest))
	return n, err == nil && n >= 0
}
