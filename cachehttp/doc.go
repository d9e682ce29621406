// Package cachehttp is edge's whole-response HTTP cache: during a sale
// almost every read ends here, so a hit is served from memory without an
// allocation, and a miss costs the origin one request per URL however many
// shoppers asked.
//
// # The way of a request
//
// Route.Serve computes the request's key (AppendKey: scheme, host, path and
// sorted query, normalised; tracking parameters and cookies left out) and
// looks it up in the store. A fresh entry is written as stored: status,
// header lines and body (SetBodyRaw), with Age, X-Cache and Cache-Status
// (RFC 9211) set per request, the brotli or gzip variant the client accepts
// (made once when storing), 304 to matching If-None-Match/If-Modified-Since
// and 206 to a single byte range. HEAD is answered from the GET entry.
//
// A miss joins the fetch of its key, or leads it: one origin request per
// key, the others wait (Route options bound the wait) and are served from
// what it stored. An answer that cannot be stored is passed to its own
// requester only, and the key is remembered for hit_for_pass so later
// requests go to the origin in parallel instead of queueing behind each
// other. Server errors are shared with the waiters, so a failing origin is
// not asked once per shopper.
//
// A stale entry is revalidated with its ETag/Last-Modified (a 304 refreshes
// it), served at once while one background request refreshes it
// (stale-while-revalidate), or served when the origin fails, times out or
// answers 5xx (stale-if-error).
//
// # Rules (RFC 9111, as a shared cache)
//
// Freshness comes from s-maxage, else max-age, else Expires minus Date, less
// the origin's Age; the route's ttl applies when the origin says nothing (or
// always with force_ttl), max_ttl caps it. no-store and private are never
// stored; no-cache is stored and revalidated on every use;
// must-revalidate and proxy-revalidate forbid serving stale. A request with
// Authorization is stored only for a response marked public, s-maxage or
// must-revalidate. With strip_cookies (the default) the origin never sees the
// shopper's Cookie and a stored response never carries Set-Cookie; without
// it, responses setting cookies are not stored. Vary selects variants by the
// named request headers (Accept-Encoding is the cache's own business;
// Vary: * is never stored).
//
// Request Cache-Control and Pragma are ignored: a shopper pressing reload
// (max-age=0, no-cache) in front of a flash-sale page must not put the
// origin back in the line of fire. Operators refresh content by purging.
//
// # Store
//
// The store is bounded by bytes (keys, header lines, bodies, compressed
// variants and a fixed overhead per entry), split into shards each holding
// an LRU of golang-lru's simplelru under its own lock, with one global byte
// budget. Hits read through a lock-free index and only note the time;
// eviction gives an object read since it was last placed a second chance
// (CLOCK's approximation of LRU order). Entries hit repeatedly (or named
// by Cache.Promote) move to a protected segment of hot_size bytes that a
// scan of cold URLs cannot evict. Entries of different URLs whose header
// lines match (their ETag, Last-Modified and Expires aside) share one
// header set, which their hits copy whole (headerSets, 1 MiB at most). Purges remove or soft-purge (mark stale) by URL, prefix or tag
// (Surrogate-Key, Cache-Tag), and travel to the other nodes through Redis
// pub/sub (StartBus).
//
// # Extension point
//
// A Transformer on a Route keeps a parsed form of each stored body
// (Entry.Template) and renders it per request: how ESI plugs in.
package cachehttp
