// Package config holds the typed form of edge's one YAML file, its strict
// decoding and its validation. It is data: nothing here knows how a stage,
// the cache or an upstream pool works.
package config

import (
	"net/netip"
	"time"
)

// Config is the whole configuration of one edge node, as decoded from YAML.
// Zero values are replaced by the documented defaults in Load (see
// configs/edge.yaml for the annotated reference).
type Config struct {
	// Listen is the public listener address. Default "0.0.0.0:8080".
	Listen string `yaml:"listen"`
	// Admin is the operators' listener (metrics, health, config, purge...).
	Admin Admin `yaml:"admin"`
	// Server holds the public listener's timeouts and limits.
	Server Server `yaml:"server"`
	// Log configures structured logging and the access log.
	Log Log `yaml:"log"`
	// Redis, when set, makes shared state (rate limits, stock, purges...)
	// fleet-wide. Nil means every node keeps its state in memory.
	Redis *Redis `yaml:"redis"`
	// Identity says how a shopper is recognised. Nil: no identity source.
	Identity *Identity `yaml:"identity"`
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []CIDR `yaml:"trusted_proxies"`
	// Upstreams are the named origin pools routes forward to.
	Upstreams map[string]*Upstream `yaml:"upstreams"`
	// Cache is the whole-response cache shared by all routes.
	Cache Cache `yaml:"cache"`
	// Routes are matched in file order; the first match wins.
	Routes []*Route `yaml:"routes"`
	// Sales are the items on sale with their stock and window.
	Sales []*Sale `yaml:"sales"`
	// QuizBank, when set, makes edge generate the anti-bot question bank
	// that routes with quiz: check.
	QuizBank *QuizBank `yaml:"quiz_bank"`
	// Hot configures hot-key detection. Nil: detection with defaults.
	Hot *Hot `yaml:"hot"`

	// File is the path the configuration was read from (not in YAML).
	File string `yaml:"-"`
}

// Admin configures the admin listener.
type Admin struct {
	// Listen is the admin address. Default "127.0.0.1:9090". Never the
	// public listener's address.
	Listen string `yaml:"listen"`
	// Token is the bearer token required by state-changing endpoints (and by
	// reads when GuardReads is set). Redacted in GET /config.
	Token string `yaml:"token"`
	// GuardReads makes read endpoints (/config, /stats, /dashboard...) need
	// the token too. /healthz, /readyz and /metrics stay open.
	GuardReads bool `yaml:"guard_reads"`
}

// Server holds the public listener's limits.
type Server struct {
	// ReadTimeout bounds reading one whole request. Default 10s.
	ReadTimeout Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing one whole response. Default 10s.
	WriteTimeout Duration `yaml:"write_timeout"`
	// IdleTimeout bounds a keep-alive connection between requests. Default 60s.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// MaxHeaderSize bounds the request line plus headers. Default 16KiB.
	MaxHeaderSize Size `yaml:"max_header_size"`
	// MaxBodySize bounds a request body; larger gets 413. Default 1MiB.
	MaxBodySize Size `yaml:"max_body_size"`
	// MaxConns bounds concurrent client connections. Default 262144.
	MaxConns int `yaml:"max_conns"`
	// GracePeriod is how long SIGTERM waits for in-flight requests. Default 15s.
	GracePeriod Duration `yaml:"grace_period"`
	// Via is the pseudonym edge adds to the Via header. Default "edge".
	Via string `yaml:"via"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Access turns on one JSON line per request. Default false.
	Access bool `yaml:"access"`
}

// Redis configures the shared-state store.
type Redis struct {
	// Addrs: one address is a single node, several a Redis Cluster.
	Addrs []string `yaml:"addrs"`
	// Username and Password authenticate (ACL or requirepass).
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// DB selects the database (single node only). Default 0.
	DB int `yaml:"db"`
	// Timeout bounds every Redis call. Default 200ms.
	Timeout Duration `yaml:"timeout"`
	// OnError is what a stage does when Redis fails: "closed" refuses with
	// 503 (default), "open" falls back to this node's memory.
	OnError string `yaml:"on_error"`
	// Prefix is prepended to every key edge writes. Default "edge:".
	Prefix string `yaml:"prefix"`
}

// Identity says where the shopper's id is found.
type Identity struct {
	// Header names a request header holding the user id (set by a trusted
	// component in front), e.g. X-User-Id.
	Header string `yaml:"header"`
	// Cookie names a cookie holding the user id or, with JWT, the token.
	Cookie string `yaml:"cookie"`
	// JWT, when set, means the header/cookie value is a JWT to verify.
	JWT *JWT `yaml:"jwt"`
}

// JWT configures verification of shop-issued tokens.
type JWT struct {
	// HS256Secret is the shared HMAC secret (HS256).
	HS256Secret string `yaml:"hs256_secret"`
	// RS256PublicKey is a PEM public key (RS256), inline or as a file path.
	RS256PublicKey string `yaml:"rs256_public_key"`
	// Claim holding the user id. Default "sub".
	Claim string `yaml:"claim"`
	// Leeway tolerated on exp/nbf. Default 30s.
	Leeway Duration `yaml:"leeway"`
}

// Upstream is one named pool of origin servers.
type Upstream struct {
	// Servers are host:port addresses. At least one.
	Servers []string `yaml:"servers"`
	// ConnectTimeout bounds dialing one server. Default 1s.
	ConnectTimeout Duration `yaml:"connect_timeout"`
	// Timeout bounds waiting for the response (read timeout). Default 3s.
	Timeout Duration `yaml:"timeout"`
	// WriteTimeout bounds writing the request. Default 3s.
	WriteTimeout Duration `yaml:"write_timeout"`
	// MaxConns bounds open connections per server. Default 512.
	MaxConns int `yaml:"max_conns"`
	// MaxConnWait bounds waiting for a free connection; then 503. Default 100ms.
	MaxConnWait Duration `yaml:"max_conn_wait"`
	// MaxIdleConnDuration closes idle keep-alive connections. Default 10s.
	MaxIdleConnDuration Duration `yaml:"max_idle_conn_duration"`
	// MaxResponseSize bounds an origin response body; larger gets 502.
	// Default 64MiB.
	MaxResponseSize Size `yaml:"max_response_size"`
	// Retries is how many other servers an idempotent request may be retried
	// on after a connection failure. Never applies to POST. Default 1.
	Retries *int `yaml:"retries"`
	// HealthCheck, when set, actively probes each server.
	HealthCheck *HealthCheck `yaml:"health_check"`
	// Passive ejects a server after consecutive failures.
	Passive Passive `yaml:"passive"`
	// Host, when set, replaces the Host header sent to this pool.
	Host string `yaml:"host"`

	// Line is where the pool is defined in the file.
	Line int `yaml:"-"`
}

// HealthCheck configures active probing of an upstream's servers.
type HealthCheck struct {
	// Path probed with GET. Default "/healthz".
	Path string `yaml:"path"`
	// Interval between probes. Default 2s.
	Interval Duration `yaml:"interval"`
	// Timeout of one probe. Default 1s.
	Timeout Duration `yaml:"timeout"`
	// Fails: consecutive failed probes that take a server out. Default 2.
	Fails int `yaml:"fails"`
	// Passes: consecutive good probes that put it back. Default 2.
	Passes int `yaml:"passes"`
}

// Passive configures ejection on consecutive failures of real traffic.
type Passive struct {
	// MaxFails consecutive connection errors or 5xx... eject. 0 = off. Default 5.
	MaxFails *int `yaml:"max_fails"`
	// EjectFor is how long an ejected server is left out. Default 10s.
	EjectFor Duration `yaml:"eject_for"`
}

// Cache configures the shared whole-response cache.
type Cache struct {
	// Size bounds stored bytes (keys, headers and bodies). Default 256MiB.
	Size Size `yaml:"size"`
	// HotSize is the protected segment for hot entries, part of Size.
	// Default Size/8.
	HotSize Size `yaml:"hot_size"`
	// Shards of the store (power of two). Default 64.
	Shards int `yaml:"shards"`
	// IgnoreParams are query parameters dropped from keys (globs: utm_*).
	IgnoreParams []string `yaml:"ignore_params"`
	// MaxEntrySize: larger responses are not stored. Default 8MiB.
	MaxEntrySize Size `yaml:"max_entry_size"`
}

// Route is one entry of the route table.
type Route struct {
	// Name is used in metrics and logs. Required, unique.
	Name string `yaml:"name"`
	// Match selects the requests of this route.
	Match Match `yaml:"match"`
	// Upstream names the pool this route forwards to. Required.
	Upstream string `yaml:"upstream"`
	// Timeout overrides the pool's response timeout for this route.
	Timeout Duration `yaml:"timeout"`
	// Private marks responses as per-shopper: the shopper's cookies are
	// forwarded (also to ESI fragments) and nothing is stored.
	Private bool `yaml:"private"`
	// Cache, when set, caches this route's responses.
	Cache *RouteCache `yaml:"cache"`
	// ESI, when set, assembles <esi:...> markup in this route's HTML.
	ESI *ESI `yaml:"esi"`
	// Identity: "required" answers 401 without a shopper id; "optional"
	// reads it when present. Default: optional when an identity source is
	// configured.
	Identity string `yaml:"identity"`
	// Item says where a request's item id is (for sales and limits).
	Item *Item `yaml:"item"`
	// RateLimit lists limits that must all pass.
	RateLimit []*RateLimit `yaml:"ratelimit"`
	// Stock, when set, makes every request take one unit of its item's
	// stock before it may go on (needs item).
	Stock *RouteStock `yaml:"stock"`
	// Queue, when set, bounds the orders of one item in flight to the shop.
	Queue *Queue `yaml:"queue"`
	// Quiz, when set, requires a valid answer to a quiz question issued by
	// GET /_edge/quiz (needs quiz_bank, identity and item).
	Quiz *Quiz `yaml:"quiz"`
	// HotKeys configures what the route does for hot keys.
	HotKeys *RouteHot `yaml:"hot"`

	// Line is where the route is defined in the file.
	Line int `yaml:"-"`
}

// Match selects requests. All given conditions must hold.
type Match struct {
	// Host matches the Host header exactly (case-insensitive, port ignored);
	// "*.example.com" matches subdomains.
	Host string `yaml:"host"`
	// Path is a path prefix.
	Path string `yaml:"path"`
	// PathExact matches the whole path.
	PathExact string `yaml:"path_exact"`
	// Methods, when set, restricts the methods (upper case).
	Methods []string `yaml:"methods"`
}

// RouteCache configures caching on a route.
type RouteCache struct {
	// TTL is used when the origin sends no freshness information.
	TTL Duration `yaml:"ttl"`
	// ForceTTL makes TTL override the origin's freshness headers.
	ForceTTL bool `yaml:"force_ttl"`
	// MaxTTL caps any freshness lifetime. 0 = no cap.
	MaxTTL Duration `yaml:"max_ttl"`
	// StaleWhileRevalidate serves a stale entry while one refresh runs.
	StaleWhileRevalidate Duration `yaml:"stale_while_revalidate"`
	// StaleIfError serves a stale entry when the origin fails.
	StaleIfError Duration `yaml:"stale_if_error"`
	// StripCookies removes Cookie from the request to the origin and
	// Set-Cookie from stored responses. Default true.
	StripCookies *bool `yaml:"strip_cookies"`
	// MaxEntrySize overrides cache.max_entry_size for this route.
	MaxEntrySize Size `yaml:"max_entry_size"`
	// HitForPass remembers an uncacheable key this long. Default 5s.
	HitForPass Duration `yaml:"hit_for_pass"`
}

// ESI configures fragment assembly on a route.
type ESI struct {
	// MaxDepth of nested includes. Default 3.
	MaxDepth int `yaml:"max_depth"`
	// Timeout for assembling one page. Default 500ms.
	Timeout Duration `yaml:"timeout"`
	// MaxIncludes per page. Default 32.
	MaxIncludes int `yaml:"max_includes"`
	// Concurrency: fragments fetched at once per page. Default 8.
	Concurrency int `yaml:"concurrency"`
	// OnError: "drop" (default) drops a failed fragment, "fail" fails the page.
	OnError string `yaml:"on_error"`
	// AllowedHosts that absolute include URLs may name. Default none.
	AllowedHosts []string `yaml:"allowed_hosts"`
	// ForwardHeaders are request headers passed on to fragments.
	ForwardHeaders []string `yaml:"forward_headers"`
}

// Item says where a request carries its item id. Exactly one is set.
type Item struct {
	Query  string `yaml:"query"`
	Form   string `yaml:"form"`
	Header string `yaml:"header"`
	// PathSegment is the 1-based index of the path segment: /order/42 → 2.
	PathSegment int `yaml:"path_segment"`
}

// RateLimit is one limit of a route.
type RateLimit struct {
	// Per is ip, user, item or route.
	Per string `yaml:"per"`
	// Rate is N/s, N/m or N/h.
	Rate Rate `yaml:"rate"`
	// Burst is the bucket size. Default: the rate per second, at least 1.
	Burst int `yaml:"burst"`
}

// RouteStock configures the stock gate of an order route.
type RouteStock struct {
	// PerUser caps the units one shopper may take of one item; 0 = no cap.
	// A shopper over it gets 409 limit_reached.
	PerUser int `yaml:"per_user"`
	// RetryAfter is sent with 503 when the shop failed and the unit was
	// given back. Default 1s.
	RetryAfter Duration `yaml:"retry_after"`
}

// Queue configures the per-item queue in front of the shop.
type Queue struct {
	// Mode is "sync" (default: wait for the shop, bounded) or "async"
	// (a ticket now, the result later).
	Mode string `yaml:"mode"`
	// ConcurrencyPerItem bounds one item's orders in flight to the shop
	// from this node. Default 8.
	ConcurrencyPerItem int `yaml:"concurrency_per_item"`
	// MaxWait bounds the wait for a slot; then 503 queue_full. Default 2s.
	MaxWait Duration `yaml:"max_wait"`
	// MaxWaiting bounds the orders waiting per item; more get queue_full at
	// once. Default 1024.
	MaxWaiting int `yaml:"max_waiting"`

	// The settings below apply to mode async only.

	// MaxLength bounds the orders queued and not yet answered by the shop,
	// for the whole route (fleet-wide with Redis); more get 503 queue_full.
	// Default 100000.
	MaxLength int `yaml:"max_length"`
	// Concurrency bounds the orders this node's dispatcher has in flight to
	// the shop, all items together (concurrency_per_item bounds one item).
	// Default 64.
	Concurrency int `yaml:"concurrency"`
	// Rate, when set, bounds the orders sent to the shop per second, for the
	// whole fleet with Redis. Default unbounded.
	Rate Rate `yaml:"rate"`
	// Retries is how many times an order the shop failed (5xx, 429, no
	// answer) is sent again before it is rejected. Default 5.
	Retries *int `yaml:"retries"`
	// RetryBackoff is the wait before the first retry, doubled for each next
	// one (at most 10s, or RetryBackoff when longer). Default 500ms.
	RetryBackoff Duration `yaml:"retry_backoff"`
	// ResultTTL is how long a final result stays readable. Default 1h.
	ResultTTL Duration `yaml:"result_ttl"`
	// ClaimIdle is how long an order taken by a node that stopped answering
	// waits before another node takes it over. Default 30s.
	ClaimIdle Duration `yaml:"claim_idle"`
	// LongPollMax bounds the wait of GET /_edge/orders/{ticket}?wait=N.
	// Default 20s.
	LongPollMax Duration `yaml:"long_poll_max"`
}

// QuizBank configures the question bank.
type QuizBank struct {
	// Secret signs quiz tokens (HMAC-SHA256); at least 32 bytes. Required.
	Secret string `yaml:"secret"`
	// PreviousSecret is still accepted for checking during a rotation.
	PreviousSecret string `yaml:"previous_secret"`
	// Size is the number of questions generated. Default 1000.
	Size int `yaml:"size"`
	// Regenerate makes a new bank this often; 0 = never. Default 0.
	Regenerate Duration `yaml:"regenerate"`
}

// Quiz configures the quiz check on an order route.
type Quiz struct {
	// MinThink: answers sooner than this after issue are refused
	// (quiz_too_fast). Default 1s.
	MinThink Duration `yaml:"min_think"`
	// MaxAge: tokens older than this are refused (quiz_expired). Default 2m.
	MaxAge Duration `yaml:"max_age"`
	// Attempts per shopper and item within MaxAge. Default 3.
	Attempts int `yaml:"attempts"`
}

// Hot configures hot-key detection on every node.
type Hot struct {
	// Threshold: a key is hot above this rate. Default 500/s.
	Threshold Rate `yaml:"threshold"`
	// Top is how many hot keys are tracked and shown. Default 50.
	Top int `yaml:"top"`
}

// RouteHot configures what a route does for its hot keys.
type RouteHot struct {
	// MicroCache serves a hot key of an otherwise uncacheable GET route
	// from a cache this long, with coalescing. 0 = off.
	MicroCache Duration `yaml:"micro_cache"`
	// MaxConnShare caps the share (0..1] of the upstream's connections one
	// hot item may hold. 0 = no cap.
	MaxConnShare float64 `yaml:"max_conn_share"`
}

// Sale is one item on sale.
type Sale struct {
	// Name labels the sale in metrics. Default "item-<item>".
	Name string `yaml:"name"`
	// Item is the item id as it appears in requests.
	Item string `yaml:"item"`
	// Stock is the number of units on sale.
	Stock int64 `yaml:"stock"`
	// Starts and Ends bound the sale window; zero means unbounded.
	Starts time.Time `yaml:"starts"`
	Ends   time.Time `yaml:"ends"`

	// Line is where the sale is defined in the file.
	Line int `yaml:"-"`
}

// Duration is a time.Duration written as "300ms", "3s", "1h".
type Duration time.Duration

// D returns the duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Size is a byte count written as "512MiB", "64KiB", "1GB" or a number.
type Size int64

// Rate is a number of events per period, written "20/s", "100/m", "5/h".
type Rate struct {
	N   float64
	Per time.Duration
}

// PerSecond returns the rate in events per second.
func (r Rate) PerSecond() float64 {
	if r.Per <= 0 {
		return 0
	}
	return r.N / r.Per.Seconds()
}

// CIDR is a network prefix; a bare address means a single host.
type CIDR struct{ netip.Prefix }
