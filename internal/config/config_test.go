package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// base completes a test document with an upstream and a route when it has
// none, so that each case only writes what it is about.
func base(doc string) string {
	if !strings.Contains(doc, "upstreams:") {
		doc += "\nupstreams: {shop: {servers: [\"127.0.0.1:9000\"]}}"
	}
	if !strings.Contains(doc, "routes:") {
		doc += "\nroutes: [{name: r, upstream: shop}]"
	}
	return doc + "\n"
}

func noEnv(string) (string, bool) { return "", false }

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func mustParse(t *testing.T, doc string) *Config {
	t.Helper()
	c, err := parse("t.yaml", []byte(doc), noEnv)
	if err != nil {
		t.Fatalf("parse failed:\n%v\n--- document:\n%s", err, doc)
	}
	return c
}

func problemsOf(t *testing.T, doc string, env func(string) (string, bool)) []Error {
	t.Helper()
	c, err := parse("t.yaml", []byte(doc), env)
	if err == nil {
		t.Fatalf("parse succeeded, want problems\n--- document:\n%s", doc)
	}
	if c != nil {
		t.Errorf("parse returned a Config with an error")
	}
	return Problems(err)
}

func TestReferenceConfigsLoad(t *testing.T) {
	// Not parallel: t.Setenv. The variables are the ones edge.yaml names.
	t.Setenv("EDGE_ADMIN_TOKEN", "reference-admin-token")
	t.Setenv("SHOP_JWT_SECRET", "0123456789abcdef0123456789abcdef")
	for _, f := range []string{"../../configs/edge.yaml", "../../configs/demo.yaml"} {
		c, err := Load(f)
		if err != nil {
			t.Fatalf("Load(%s):\n%v", f, err)
		}
		if len(c.Routes) == 0 || c.File != f {
			t.Errorf("Load(%s): %d routes, File %q", f, len(c.Routes), c.File)
		}
	}
	c, _ := Load("../../configs/edge.yaml")
	if c.Admin.Token != "reference-admin-token" || c.Redis.Password != "" {
		t.Errorf("env expansion: token %q, redis password %q", c.Admin.Token, c.Redis.Password)
	}
	os.Unsetenv("SHOP_JWT_SECRET")
	_, err := Load("../../configs/edge.yaml")
	if ps := Problems(err); len(ps) != 1 || !strings.Contains(ps[0].Msg, "SHOP_JWT_SECRET is not set") {
		t.Errorf("without SHOP_JWT_SECRET: %v", err)
	}
}

func TestDemoConfig(t *testing.T) {
	t.Parallel()
	c, err := Load("../../configs/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range c.Routes {
		names = append(names, r.Name)
	}
	if want := []string{"item-page", "user-box", "fragments", "order", "static"}; !slices.Equal(names, want) {
		t.Errorf("routes = %v, want %v", names, want)
	}
	order := c.Routes[3]
	if order.Identity != "required" || order.Item.Query != "item" || len(order.RateLimit) != 2 ||
		order.RateLimit[1].Per != "user" || order.RateLimit[1].Burst != 2 || order.Match.Methods[0] != "POST" {
		t.Errorf("order route = %+v", order)
	}
	if c.Admin.Token != "demo-token" || c.Listen != "127.0.0.1:8080" || c.Upstreams["shop"].HealthCheck.Path != "/healthz" {
		t.Errorf("demo listeners/upstream wrong: %+v", c.Admin)
	}
	if s := c.Sales[0]; s.Item != "42" || s.Stock != 200 || !s.Starts.IsZero() || s.Name != "item-42" {
		t.Errorf("sale = %+v", s)
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error = %v, want fs.ErrNotExist", err)
	}
	if ps := Problems(err); len(ps) != 1 || ps[0].Line != 0 || !strings.Contains(ps[0].Error(), "nope.yaml") {
		t.Errorf("Problems = %v", ps)
	}
}

func TestStrictUnknownKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc, want string
		line            int
	}{
		{"top", "listen: 0.0.0.0:8080\nlistn: x\n", `t.yaml:2: unknown key "listn" (did you mean "listen"?)`, 2},
		{"admin", "admin:\n  tokn: x\n", `t.yaml:2: admin: unknown key "tokn" (did you mean "token"?)`, 2},
		{"route match", "routes:\n  - name: r\n    upstream: shop\n    match: {paht: /x}\n", `t.yaml:4: routes[0].match: unknown key "paht" (did you mean "path"?)`, 4},
		{"upstream health", "upstreams:\n  shop:\n    servers: [\"a:1\"]\n    health_check:\n      intervall: 1s\n", `t.yaml:5: upstreams.shop.health_check: unknown key "intervall" (did you mean "interval"?)`, 5},
		{"ratelimit", "routes: [{name: r, upstream: shop, ratelimit: [{per: ip, rate: 1/s, brust: 3}]}]\n", `t.yaml:1: routes[0].ratelimit[0]: unknown key "brust" (did you mean "burst"?)`, 1},
		{"sale", "routes: [{name: r, upstream: shop, item: {query: i}}]\nsales:\n  - item: \"1\"\n    price: 3\n", `t.yaml:4: sales[0]: unknown key "price"`, 4},
		{"no suggestion", "frobnicate: 1\n", `t.yaml:1: unknown key "frobnicate"`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ps := problemsOf(t, base(tt.doc), noEnv)
			if len(ps) != 1 || ps[0].Error() != tt.want || ps[0].Line != tt.line {
				t.Errorf("problems = %q, want exactly %q", ps, tt.want)
			}
		})
	}
}

func TestDecodeProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc, path, msg string
	}{
		{"list wanted", "trusted_proxies: 10.0.0.0/8\n", "trusted_proxies", `want a list, got "10.0.0.0/8"`},
		{"mapping wanted", "admin: yes\n", "admin", `want a mapping, got "yes"`},
		{"scalar wanted", "listen: [a]\n", "listen", "want a string, got a list"},
		{"bool", "log: {access: maybe}\n", "log.access", `want true or false, got "maybe"`},
		{"int", "server: {max_conns: lots}\n", "server.max_conns", `want an integer, got "lots"`},
		{"int range", "server: {max_conns: 99999999999999999999}\n", "server.max_conns", "out of range"},
		{"duration", "server: {read_timeout: 10}\n", "server.read_timeout", `want a duration like 300ms, 2s or 1h30m, got "10"`},
		{"size", "cache: {size: big}\n", "cache.size", "want a size like 512MiB"},
		{"cidr", "trusted_proxies: [10.0.0.0/8, nope]\n", "trusted_proxies[1]", "want an address or CIDR"},
		{"time", "routes: [{name: r, upstream: shop, item: {query: i}}]\nsales: [{item: \"1\", starts: \"2026-12-12 10:00\"}]\n", "sales[0].starts", "want an RFC 3339 time"},
		{"duplicate key", "log:\n  level: info\n  level: debug\n", "log", `duplicate key "level" (first at line 2)`},
		{"map wanted", "upstreams: [a]\nroutes: [{name: r, upstream: a}]\n", "upstreams", "want a mapping of names, got a list"},
		{"second document", "listen: 0.0.0.0:8080\n---\nlisten: 0.0.0.0:8081\n", "", "want one YAML document"},
		{"syntax", "listen: [\n", "", "invalid YAML"},
		{"root scalar", "hello\n", "", `want a mapping, got "hello"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := tt.doc
			if tt.name != "second document" && tt.name != "syntax" && tt.name != "root scalar" {
				doc = base(doc)
			}
			ps := problemsOf(t, doc, noEnv)
			if len(ps) != 1 || ps[0].Path != tt.path || !strings.Contains(ps[0].Msg, tt.msg) {
				t.Errorf("problems = %q, want one at %q containing %q", ps, tt.path, tt.msg)
			}
		})
	}
}

func TestEnvExpansion(t *testing.T) {
	t.Parallel()
	env := envOf(map[string]string{"TOKEN": "s3cret", "HOST": "10.0.0.5", "N": "64", "EMPTY": ""})
	doc := base(`admin: {token: "${TOKEN}"}
server:
  max_conns: ${N}
  max_body_size: "${N}KiB"
redis: {addrs: ["r:1"], password: "a$${literal}b"}
log: {level: "${LEVEL:-warn}"}
upstreams:
  shop:
    servers: ["${HOST}:9000"]
    retries: ${EMPTY}
    host: ${EMPTY:-shop.example.com}
`)
	c, err := parse("t.yaml", []byte(doc), env)
	if err != nil {
		t.Fatal(err)
	}
	u := c.Upstreams["shop"]
	checks := []struct {
		name      string
		got, want any
	}{
		{"token", c.Admin.Token, "s3cret"},
		{"plain int", c.Server.MaxConns, 64},
		{"size", c.Server.MaxBodySize, 64 * KiB},
		{"escape", c.Redis.Password, "a${literal}b"},
		{"default", c.Log.Level, "warn"},
		{"server", u.Servers[0], "10.0.0.5:9000"},
		{"empty is null → default", *u.Retries, 1},
		{"default when empty", u.Host, "shop.example.com"},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}

	bad := base("admin:\n  token: ${NOPE}\nserver:\n  via: ${bad-name}\n  read_timeout: ${N\n")
	ps := problemsOf(t, bad, env)
	want := []string{
		"t.yaml:2: admin.token: environment variable NOPE is not set",
		"t.yaml:4: server.via: bad variable reference ${bad-name}: want ${NAME} or ${NAME:-default}",
		`t.yaml:5: server.read_timeout: unterminated "${N" (write $${ for a literal ${)`,
	}
	if got := errorStrings(ps); !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestExpandEnv(t *testing.T) {
	t.Parallel()
	env := envOf(map[string]string{"A": "x", "E": ""})
	for in, want := range map[string]string{
		"plain": "plain", "${A}": "x", "<${A}${A}>": "<xx>", "$${A}": "${A}", "$A": "$A", "a$b$": "a$b$",
		"${E}": "", "${E:-d}": "d", "${U:-d:-e}": "d:-e", "${A:-d}": "x", "$$${A}": "$${A}",
	} {
		if got, err := expandEnv(in, env); err != nil || got != want {
			t.Errorf("expandEnv(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"${U}", "${}", "${1A}", "${A", "${A B}"} {
		if _, err := expandEnv(in, env); err == nil {
			t.Errorf("expandEnv(%q) succeeded, want an error", in)
		}
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c := mustParse(t, `identity: {cookie: session, jwt: {hs256_secret: 0123456789abcdef0123456789abcdef}}
redis: {addrs: ["127.0.0.1:6379"]}
upstreams: {shop: {servers: ["127.0.0.1:9000"], health_check: {}}}
cache: {size: 64MiB}
routes:
  - name: r
    upstream: shop
    cache: {}
    esi: {}
    item: {query: item}
    ratelimit: [{per: ip, rate: 100/m}, {per: user, rate: 0.5/s}, {per: route, rate: 20/s}]
    stock: {}
    queue: {}
sales: [{item: "42"}]
`)
	u, r := c.Upstreams["shop"], c.Routes[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen", c.Listen, "0.0.0.0:8080"},
		{"admin.listen", c.Admin.Listen, "127.0.0.1:9090"},
		{"server.read_timeout", c.Server.ReadTimeout.D(), 10 * time.Second},
		{"server.write_timeout", c.Server.WriteTimeout.D(), 10 * time.Second},
		{"server.idle_timeout", c.Server.IdleTimeout.D(), time.Minute},
		{"server.max_header_size", c.Server.MaxHeaderSize, 16 * KiB},
		{"server.max_body_size", c.Server.MaxBodySize, MiB},
		{"server.max_conns", c.Server.MaxConns, 262144},
		{"server.grace_period", c.Server.GracePeriod.D(), 15 * time.Second},
		{"server.via", c.Server.Via, "edge"},
		{"log.level", c.Log.Level, "info"},
		{"redis.timeout", c.Redis.Timeout.D(), 200 * time.Millisecond},
		{"redis.on_error", c.Redis.OnError, "closed"},
		{"redis.prefix", c.Redis.Prefix, "edge:"},
		{"jwt.claim", c.Identity.JWT.Claim, "sub"},
		{"jwt.leeway", c.Identity.JWT.Leeway.D(), 30 * time.Second},
		{"upstream.connect_timeout", u.ConnectTimeout.D(), time.Second},
		{"upstream.timeout", u.Timeout.D(), 3 * time.Second},
		{"upstream.write_timeout", u.WriteTimeout.D(), 3 * time.Second},
		{"upstream.max_conns", u.MaxConns, 512},
		{"upstream.max_conn_wait", u.MaxConnWait.D(), 100 * time.Millisecond},
		{"upstream.max_idle_conn_duration", u.MaxIdleConnDuration.D(), 10 * time.Second},
		{"upstream.max_response_size", u.MaxResponseSize, 64 * MiB},
		{"upstream.retries", *u.Retries, 1},
		{"upstream.line", u.Line, 3},
		{"health.path", u.HealthCheck.Path, "/healthz"},
		{"health.interval", u.HealthCheck.Interval.D(), 2 * time.Second},
		{"health.timeout", u.HealthCheck.Timeout.D(), time.Second},
		{"health.fails", u.HealthCheck.Fails, 2},
		{"health.passes", u.HealthCheck.Passes, 2},
		{"passive.max_fails", *u.Passive.MaxFails, 5},
		{"passive.eject_for", u.Passive.EjectFor.D(), 10 * time.Second},
		{"cache.size", c.Cache.Size, 64 * MiB},
		{"cache.hot_size", c.Cache.HotSize, 8 * MiB},
		{"cache.shards", c.Cache.Shards, 64},
		{"cache.max_entry_size", c.Cache.MaxEntrySize, 8 * MiB},
		{"route.line", r.Line, 6},
		{"route.path", r.Match.Path, "/"},
		{"route.identity", r.Identity, "optional"},
		{"route.cache.strip_cookies", *r.Cache.StripCookies, true},
		{"route.cache.hit_for_pass", r.Cache.HitForPass.D(), 5 * time.Second},
		{"esi.max_depth", r.ESI.MaxDepth, 3},
		{"esi.timeout", r.ESI.Timeout.D(), 500 * time.Millisecond},
		{"esi.max_includes", r.ESI.MaxIncludes, 32},
		{"esi.concurrency", r.ESI.Concurrency, 8},
		{"esi.on_error", r.ESI.OnError, "drop"},
		{"burst 100/m", r.RateLimit[0].Burst, 2},
		{"burst 0.5/s", r.RateLimit[1].Burst, 1},
		{"burst 20/s", r.RateLimit[2].Burst, 20},
		{"stock.retry_after", r.Stock.RetryAfter.D(), time.Second},
		{"queue.mode", r.Queue.Mode, "sync"},
		{"queue.concurrency_per_item", r.Queue.ConcurrencyPerItem, 8},
		{"queue.max_wait", r.Queue.MaxWait.D(), 2 * time.Second},
		{"queue.max_waiting", r.Queue.MaxWaiting, 1024},
		{"sale.name", c.Sales[0].Name, "item-42"},
		{"sale.line", c.Sales[0].Line, 14},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}

	// Explicit zeros of pointer settings are kept, not defaulted.
	c = mustParse(t, base("upstreams: {shop: {servers: [\"a:1\"], retries: 0, passive: {max_fails: 0}}}\nroutes: [{name: r, upstream: shop, cache: {strip_cookies: false}}]"))
	if u := c.Upstreams["shop"]; *u.Retries != 0 || *u.Passive.MaxFails != 0 || *c.Routes[0].Cache.StripCookies {
		t.Errorf("explicit zeros replaced: retries %d, max_fails %d, strip_cookies %v", *u.Retries, *u.Passive.MaxFails, *c.Routes[0].Cache.StripCookies)
	}
	// Without an identity source, routes have no identity mode.
	if c.Routes[0].Identity != "" {
		t.Errorf("identity = %q without an identity source", c.Routes[0].Identity)
	}
}

func TestNormalisation(t *testing.T) {
	t.Parallel()
	c := mustParse(t, base(`log: {level: DEBUG}
routes: [{name: r, upstream: shop, match: {host: Shop.Example.COM, methods: [get, Post]}}]`))
	if c.Log.Level != "debug" || c.Routes[0].Match.Host != "shop.example.com" || !slices.Equal(c.Routes[0].Match.Methods, []string{"GET", "POST"}) {
		t.Errorf("not normalised: level %q, match %+v", c.Log.Level, c.Routes[0].Match)
	}
}

func TestAnchorsAndMerge(t *testing.T) {
	t.Parallel()
	c := mustParse(t, `x-pool: &pool {timeout: 5s, max_conns: 64}
x-more: &more {max_conns: 32, retries: 3}
upstreams:
  a: {<<: *pool, servers: ["10.0.0.1:80"]}
  b:
    <<: [*pool, *more]
    servers: &servers ["10.0.0.2:80"]
    max_conns: 8
  c: {<<: [*more, *pool], servers: *servers}
routes: [{name: r, upstream: a}]
`)
	a, b, cc := c.Upstreams["a"], c.Upstreams["b"], c.Upstreams["c"]
	if a.Timeout.D() != 5*time.Second || a.MaxConns != 64 || a.Servers[0] != "10.0.0.1:80" {
		t.Errorf("a = %+v", a)
	}
	if b.Timeout.D() != 5*time.Second || b.MaxConns != 8 || *b.Retries != 3 {
		t.Errorf("b: written keys must win over merged ones: %+v", b)
	}
	if cc.MaxConns != 32 || cc.Servers[0] != "10.0.0.2:80" {
		t.Errorf("c: the first merge source must win: %+v", cc)
	}
	ps := problemsOf(t, "x-a: &a {b: 1}\nupstreams: {shop: {<<: *a, servers: [\"a:1\"]}}\nroutes: [{name: r, upstream: shop}]\n", noEnv)
	if len(ps) != 1 || ps[0].Path != "upstreams.shop" || !strings.Contains(ps[0].Msg, `unknown key "b"`) {
		t.Errorf("merged unknown key: %q", ps)
	}
	ps = problemsOf(t, base("admin: &cyc {<<: *cyc}\n"), noEnv)
	if len(ps) == 0 {
		t.Error("a merge cycle must be a problem")
	}
}

func TestThreeMistakes(t *testing.T) {
	t.Parallel()
	doc := `listen: 0.0.0.0:8080
admin: {listen: 127.0.0.1:9090}
upstreams:
  shop:
    servers: ["127.0.0.1:9000"]
    timeout: 3 seconds
routes:
  - name: order
    upstream: shpo
    match: {path_exact: /order}
    retrys: 2
`
	_, err := parse("edge.yaml", []byte(doc), noEnv)
	ps := Problems(err)
	want := []string{
		`edge.yaml:6: upstreams.shop.timeout: want a duration like 300ms, 2s or 1h30m, got "3 seconds"`,
		`edge.yaml:9: routes[0].upstream: unknown upstream "shpo" (did you mean "shop"?)`,
		`edge.yaml:11: routes[0]: unknown key "retrys"`,
	}
	if got := errorStrings(ps); !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	lines := map[int]bool{}
	for _, p := range ps {
		lines[p.Line] = true
	}
	if len(lines) != 3 {
		t.Errorf("problems name %d distinct lines, want 3", len(lines))
	}
	// The joined error prints one problem per line and unwraps to them.
	if err.Error() != strings.Join(want, "\n") {
		t.Errorf("err.Error() = %q", err.Error())
	}
	var first Error
	if !errors.As(err, &first) || first.Line != 6 {
		t.Errorf("errors.As = %+v", first)
	}
}

func TestProblemsSortedByLine(t *testing.T) {
	t.Parallel()
	// Validation problems (found after decoding) come first in the file,
	// decoding problems last: the result must still be by line.
	doc := `log: {level: loud}
listen: nowhere
upstreams: {shop: {servers: ["127.0.0.1:9000"]}}
routes:
  - {name: a, upstream: nope, match: {path: /a}}
  - {name: a, upstream: shop, match: {path: /b}}
server: {read_timeout: soon}
unknown: 1
`
	ps := problemsOf(t, doc, noEnv)
	if len(ps) != 6 {
		t.Fatalf("got %d problems, want 6: %q", len(ps), ps)
	}
	if !slices.IsSortedFunc(ps, func(a, b Error) int { return a.Line - b.Line }) {
		t.Errorf("not sorted by line: %q", errorStrings(ps))
	}
	if ps[0].Line != 1 || ps[len(ps)-1].Line != 8 {
		t.Errorf("first/last lines = %d/%d, want 1/8", ps[0].Line, ps[len(ps)-1].Line)
	}
}

func TestProblemsOfForeignErrors(t *testing.T) {
	t.Parallel()
	if Problems(nil) != nil {
		t.Error("Problems(nil) != nil")
	}
	ps := Problems(errors.New("boom"))
	if len(ps) != 1 || ps[0].Error() != "boom" {
		t.Errorf("Problems(boom) = %q", ps)
	}
	e := Error{File: "f.yaml", Line: 3, Path: "a.b", Msg: "bad"}
	if got := Problems(errors.Join(e, &e)); len(got) != 2 || got[1] != e {
		t.Errorf("Problems(joined) = %v", got)
	}
	for e, want := range map[Error]string{
		{File: "f", Line: 2, Path: "p", Msg: "m"}: "f:2: p: m",
		{File: "f", Msg: "m"}:                     "f: m",
		{Line: 2, Msg: "m"}:                       "line 2: m",
	} {
		if e.Error() != want {
			t.Errorf("Error() = %q, want %q", e.Error(), want)
		}
	}
}

func TestHugeAliasExpansionFails(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("upstreams: {shop: {servers: [\"a:1\"]}}\nx-rl: &rl [")
	for i := range 1000 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("{per: ip, rate: 1/s}")
	}
	b.WriteString("]\nx-r: &r {name: r, upstream: shop, ratelimit: *rl}\nroutes: [")
	for i := range 1000 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("*r")
	}
	b.WriteString("]\n")
	ps := problemsOf(t, strings.Replace(b.String(), "x-rl", "log: {}\nx-rl", 1), noEnv)
	if len(ps) != 1 || !strings.Contains(ps[0].Msg, "document too large") {
		t.Errorf("problems = %.300q, want only: document too large", ps)
	}
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	c := mustParse(t, base(`admin: {token: tok}
redis: {addrs: ["r:6379"], password: pw}
identity: {cookie: s, jwt: {hs256_secret: 0123456789abcdef0123456789abcdef}}
trusted_proxies: [10.0.0.0/8]
routes: [{name: r, upstream: shop, match: {methods: [GET]}, ratelimit: [{per: ip, rate: 1/s}]}]
`))
	orig := deepCopy(reflect.ValueOf(c)).Interface().(*Config)
	r := c.Redacted()
	if r.Admin.Token != RedactedValue || r.Redis.Password != RedactedValue || r.Identity.JWT.HS256Secret != RedactedValue {
		t.Errorf("secrets not redacted: %q %q %q", r.Admin.Token, r.Redis.Password, r.Identity.JWT.HS256Secret)
	}
	if !reflect.DeepEqual(c, orig) {
		t.Error("Redacted modified the original")
	}
	// The copy shares nothing: changing it deeply leaves the original alone.
	r.Routes[0].Match.Methods[0] = "PUT"
	r.Routes[0].RateLimit[0].Burst = 99
	r.Upstreams["shop"].Servers[0] = "x:1"
	*r.Upstreams["shop"].Retries = 7
	r.TrustedProxies[0] = CIDR{}
	delete(r.Upstreams, "shop")
	if !reflect.DeepEqual(c, orig) {
		t.Error("the redacted copy shares memory with the original")
	}
	// Empty secrets stay empty (an unset token is not shown as set).
	e := mustParse(t, base("")).Redacted()
	if e.Admin.Token != "" {
		t.Errorf("empty token shown as %q", e.Admin.Token)
	}
	if (*Config)(nil).Redacted() != nil {
		t.Error("nil.Redacted() != nil")
	}
}

// The effective config printed with yaml.Marshal loads back to the same
// value, so GET /config output can be saved and used.
func TestEffectiveConfigRoundTrip(t *testing.T) {
	t.Parallel()
	env := envOf(map[string]string{"EDGE_ADMIN_TOKEN": "tok", "SHOP_JWT_SECRET": "0123456789abcdef0123456789abcdef"})
	for _, f := range []string{"../../configs/demo.yaml", "../../configs/edge.yaml"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := parse("c.yaml", data, env)
		if err != nil {
			t.Fatal(err)
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		back, err := parse("c.yaml", out, noEnv)
		if err != nil {
			t.Fatalf("%s printed back does not load: %v\n%s", f, err, out)
		}
		clearLines(c)
		clearLines(back)
		if !reflect.DeepEqual(c, back) {
			t.Errorf("%s: round trip differs:\n%s", f, out)
		}
	}
}

func clearLines(c *Config) {
	for _, r := range c.Routes {
		r.Line = 0
	}
	for _, u := range c.Upstreams {
		u.Line = 0
	}
	for _, s := range c.Sales {
		s.Line = 0
	}
}

func errorStrings(ps []Error) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Error()
	}
	return out
}
