package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const secret32 = "0123456789abcdef0123456789abcdef"

// Every validation rule, each from a document with exactly that one mistake.
func TestValidationRules(t *testing.T) {
	t.Parallel()
	const id = "identity: {cookie: session}\n"
	const itemRoute = "routes: [{name: o, upstream: shop, item: {query: item}}]\n"
	tests := []struct {
		name, doc, path, msg string
	}{
		// listeners and admin
		{"listen not host:port", "listen: \"8080\"", "listen", `want host:port, got "8080"`},
		{"listen port range", "listen: 0.0.0.0:70000", "listen", "want a port number from 0 to 65535"},
		{"listen bad host", "listen: \"a b:80\"", "listen", "host name or IP address"},
		{"admin same as listen", "listen: 0.0.0.0:8080\nadmin: {listen: 127.0.0.1:8080}", "admin.listen", `must differ from listen "0.0.0.0:8080"`},
		{"admin token off loopback", "admin: {listen: 0.0.0.0:9090}", "admin.token", "required when admin.listen is not a loopback address"},
		{"admin token spaces", "admin: {token: \"a b\"}", "admin.token", "must not contain spaces"},
		// server and log
		{"server max_conns", "server: {max_conns: -1}", "server.max_conns", "want a number > 0, got -1"},
		{"server via", "server: {via: \"my edge\"}", "server.via", "want a name without spaces"},
		{"server header size", "server: {max_header_size: 100}", "server.max_header_size", "want at least 1KiB, got 100"},
		{"log level", "log: {level: verbose}", "log.level", `want debug, info, warn or error, got "verbose"`},
		{"trusted proxies", "trusted_proxies: [10.0.0.0/40]", "trusted_proxies[0]", "want an address or CIDR"},
		// redis
		{"redis addrs", "redis: {on_error: open}", "redis.addrs", "want at least one host:port"},
		{"redis addr", "redis: {addrs: [localhost]}", "redis.addrs[0]", `want host:port, got "localhost"`},
		{"redis addr port", "redis: {addrs: [\"r:0\"]}", "redis.addrs[0]", "want a port number from 1 to 65535"},
		{"redis dup addr", "redis: {addrs: [\"r:1\", \"r:1\"]}", "redis.addrs[1]", "duplicate address"},
		{"redis on_error", "redis: {addrs: [\"r:1\"], on_error: maybe}", "redis.on_error", `want closed or open, got "maybe"`},
		{"redis db negative", "redis: {addrs: [\"r:1\"], db: -1}", "redis.db", "want a number ≥ 0"},
		{"redis db cluster", "redis: {addrs: [\"r:1\", \"r:2\"], db: 2}", "redis.db", "must be 0 with a Redis Cluster"},
		{"redis prefix", "redis: {addrs: [\"r:1\"], prefix: \"{edge}\"}", "redis.prefix", "must not contain braces"},
		// identity
		{"identity source", "identity: {}", "identity", "want header or cookie"},
		{"identity header", "identity: {header: \"X User\"}", "identity.header", "want a header name"},
		{"identity cookie", "identity: {cookie: \"a;b\"}", "identity.cookie", "want a cookie name"},
		{"jwt none", "identity: {cookie: s, jwt: {claim: uid}}", "identity.jwt", "want hs256_secret or rs256_public_key"},
		{"jwt both", "identity: {cookie: s, jwt: {hs256_secret: " + secret32 + ", rs256_public_key: k.pem}}", "identity.jwt", "not both"},
		{"jwt short secret", "identity: {cookie: s, jwt: {hs256_secret: short}}", "identity.jwt.hs256_secret", "want at least 32 bytes, got 5"},
		{"jwt missing key file", "identity: {cookie: s, jwt: {rs256_public_key: /nonexistent/k.pem}}", "identity.jwt.rs256_public_key", "want PEM text or a readable file"},
		{"jwt bad pem", "identity: {cookie: s, jwt: {rs256_public_key: \"-----BEGIN PUBLIC KEY-----\\nxx\\n-----END PUBLIC KEY-----\\n\"}}", "identity.jwt.rs256_public_key", "want a PEM block"},
		// upstreams
		{"upstream empty", "upstreams: {shop: }\nroutes: [{name: r, upstream: shop}]", "upstreams.shop", "want a mapping with servers"},
		{"upstream no servers", "upstreams: {shop: {timeout: 1s}}\nroutes: [{name: r, upstream: shop}]", "upstreams.shop.servers", "want at least one host:port"},
		{"upstream server", "upstreams: {shop: {servers: [\":9000\"]}}\nroutes: [{name: r, upstream: shop}]", "upstreams.shop.servers[0]", "want host:port with a host"},
		{"upstream dup server", "upstreams: {shop: {servers: [\"a:1\", \"a:1\"]}}\nroutes: [{name: r, upstream: shop}]", "upstreams.shop.servers[1]", "duplicate server"},
		{"upstream name", "upstreams: {\"my shop\": {servers: [\"a:1\"]}}\nroutes: [{name: r, upstream: my shop}]", `upstreams["my shop"]`, "want a name of letters"},
		{"upstream max_conns", "upstreams: {shop: {servers: [\"a:1\"], max_conns: -5}}\nroutes: [{name: r, upstream: shop}]", "upstreams.shop.max_conns", "want a number > 0, got -5"},
		{"upstream retries", "upstreams: {shop: {servers: [\"a:1\"], retries: 11}}\nroutes: [{name: r, upstream: shop}]", "upstreams.shop.retries", "want 0 to 10, got 11"},
		{"upstream max_fails", "upstreams: {shop: {servers: [\"a:1\"], passive: {max_fails: -1}}}\nroutes: [{name: r, upstream: shop}]", "upstreams.shop.passive.max_fails", "want a number ≥ 0"},
		{"upstream host", "upstreams: {shop: {servers: [\"a:1\"], host: \"a b\"}}\nroutes: [{name: r, upstream: shop}]", "upstreams.shop.host", "want a host name"},
		{"health path", "upstreams: {shop: {servers: [\"a:1\"], health_check: {path: healthz}}}\nroutes: [{name: r, upstream: shop}]", "upstreams.shop.health_check.path", "want a path starting with /"},
		{"health timeout", "upstreams: {shop: {servers: [\"a:1\"], health_check: {interval: 1s, timeout: 2s}}}\nroutes: [{name: r, upstream: shop}]", "upstreams.shop.health_check.timeout", "must not exceed interval (1s), got 2s"},
		{"health fails", "upstreams: {shop: {servers: [\"a:1\"], health_check: {fails: -1}}}\nroutes: [{name: r, upstream: shop}]", "upstreams.shop.health_check.fails", "want a number > 0"},
		// cache
		{"hot size", "cache: {size: 1MiB, hot_size: 1MiB}", "cache.hot_size", "must be less than cache.size (1MiB), got 1MiB"},
		{"shards", "cache: {shards: 48}", "cache.shards", "want a power of two from 1 to 65536, got 48"},
		{"max entry size", "cache: {size: 1MiB, max_entry_size: 2MiB}", "cache.max_entry_size", "must not exceed cache.size"},
		{"ignore params glob", "cache: {ignore_params: [\"utm_[\"]}", "cache.ignore_params[0]", "want a parameter name or glob"},
		// routes
		{"no routes", "routes: []", "routes", "want at least one route"},
		{"nil route", "routes: [~]", "routes[0]", "want a route"},
		{"route name missing", "routes: [{upstream: shop}]", "routes[0].name", "required"},
		{"route name bad", "routes: [{name: \"a b\", upstream: shop}]", "routes[0].name", "want letters, digits"},
		{"route name dup", "routes: [{name: a, upstream: shop, match: {path: /a}}, {name: a, upstream: shop, match: {path: /b}}]", "routes[1].name", `duplicate route name "a" (also routes[0])`},
		{"path and path_exact", "routes: [{name: r, upstream: shop, match: {path: /a, path_exact: /a}}]", "routes[0].match", "not both"},
		{"path slash", "routes: [{name: r, upstream: shop, match: {path: item/}}]", "routes[0].match.path", "want a path starting with /"},
		{"path_exact slash", "routes: [{name: r, upstream: shop, match: {path_exact: order}}]", "routes[0].match.path_exact", "want a path starting with /"},
		{"match host", "routes: [{name: r, upstream: shop, match: {host: \"shop.example.com:8080\"}}]", "routes[0].match.host", "no port"},
		{"method token", "routes: [{name: r, upstream: shop, match: {methods: [\"GE T\"]}}]", "routes[0].match.methods[0]", "want an HTTP method"},
		{"method dup", "routes: [{name: r, upstream: shop, match: {methods: [GET, get]}}]", "routes[0].match.methods[1]", `duplicate method "GET"`},
		{"upstream missing", "routes: [{name: r}]", "routes[0].upstream", "required"},
		{"upstream unknown", "routes: [{name: r, upstream: shpo}]", "routes[0].upstream", `unknown upstream "shpo" (did you mean "shop"?)`},
		{"private cache", "routes: [{name: r, upstream: shop, private: true, cache: {ttl: 1s}}]", "routes[0].cache", "a private route is never stored"},
		{"force_ttl", "routes: [{name: r, upstream: shop, cache: {force_ttl: true}}]", "routes[0].cache.force_ttl", "needs a ttl > 0"},
		{"max_ttl", "routes: [{name: r, upstream: shop, cache: {ttl: 10s, max_ttl: 5s}}]", "routes[0].cache.max_ttl", "must be at least ttl (10s), got 5s"},
		{"route max entry", "cache: {size: 1MiB}\nroutes: [{name: r, upstream: shop, cache: {max_entry_size: 2MiB}}]", "routes[0].cache.max_entry_size", "must not exceed cache.size"},
		{"esi depth", "routes: [{name: r, upstream: shop, esi: {max_depth: 11}}]", "routes[0].esi.max_depth", "want 1 to 10, got 11"},
		{"esi on_error", "routes: [{name: r, upstream: shop, esi: {on_error: ignore}}]", "routes[0].esi.on_error", `want drop or fail, got "ignore"`},
		{"esi includes", "routes: [{name: r, upstream: shop, esi: {max_includes: -1}}]", "routes[0].esi.max_includes", "want a number > 0"},
		{"esi concurrency", "routes: [{name: r, upstream: shop, esi: {concurrency: -1}}]", "routes[0].esi.concurrency", "want a number > 0"},
		{"esi hosts", "routes: [{name: r, upstream: shop, esi: {allowed_hosts: [\"http://x\"]}}]", "routes[0].esi.allowed_hosts[0]", "want a host name"},
		{"esi headers", "routes: [{name: r, upstream: shop, esi: {forward_headers: [\"A B\"]}}]", "routes[0].esi.forward_headers[0]", "want a header name"},
		{"route identity value", id + "routes: [{name: r, upstream: shop, identity: maybe}]", "routes[0].identity", `want optional or required, got "maybe"`},
		{"route identity source", "routes: [{name: r, upstream: shop, identity: required}]", "routes[0].identity", `"required" needs a top-level identity`},
		{"item none", "routes: [{name: r, upstream: shop, item: {}}]", "routes[0].item", "want exactly one of query, form, header or path_segment, got 0"},
		{"item two", "routes: [{name: r, upstream: shop, item: {query: a, form: a}}]", "routes[0].item", "got 2"},
		{"item segment", "routes: [{name: r, upstream: shop, item: {path_segment: -1}}]", "routes[0].item.path_segment", "want a 1-based segment index"},
		{"item header", "routes: [{name: r, upstream: shop, item: {header: \"X Item\"}}]", "routes[0].item.header", "want a header name"},
		{"ratelimit nil", "routes: [{name: r, upstream: shop, ratelimit: [~]}]", "routes[0].ratelimit[0]", "want a limit"},
		{"ratelimit per", "routes: [{name: r, upstream: shop, ratelimit: [{per: country, rate: 1/s}]}]", "routes[0].ratelimit[0].per", `want ip, user, item or route, got "country"`},
		{"ratelimit user", "routes: [{name: r, upstream: shop, ratelimit: [{per: user, rate: 1/s}]}]", "routes[0].ratelimit[0].per", "user needs a top-level identity"},
		{"ratelimit item", "routes: [{name: r, upstream: shop, ratelimit: [{per: item, rate: 1/s}]}]", "routes[0].ratelimit[0].per", "item needs the route's item"},
		{"ratelimit rate", "routes: [{name: r, upstream: shop, ratelimit: [{per: ip}]}]", "routes[0].ratelimit[0].rate", "required: N/s, N/m or N/h"},
		{"ratelimit rate bad", "routes:\n  - name: r\n    upstream: shop\n    ratelimit:\n      - {per: ip, rate: 20}", "routes[0].ratelimit[0].rate", `want N/s, N/m or N/h, got "20"`},
		{"ratelimit burst", "routes: [{name: r, upstream: shop, ratelimit: [{per: ip, rate: 1/s, burst: -1}]}]", "routes[0].ratelimit[0].burst", "want a number ≥ 0"},
		{"stock item", "routes: [{name: r, upstream: shop, stock: {}}]", "routes[0].stock", "needs the route's item"},
		{"stock per_user", "routes: [{name: r, upstream: shop, item: {query: i}, stock: {per_user: -1}}]", "routes[0].stock.per_user", "want a number ≥ 0"},
		{"stock per_user identity", id + "routes: [{name: r, upstream: shop, item: {query: i}, stock: {per_user: 1}}]", "routes[0].stock.per_user", `needs identity: required on the route, got identity "optional"`},
		{"queue item", "routes: [{name: r, upstream: shop, queue: {}}]", "routes[0].queue", "needs the route's item"},
		{"queue mode", "routes: [{name: r, upstream: shop, item: {query: i}, queue: {mode: fifo}}]", "routes[0].queue.mode", `want sync or async, got "fifo"`},
		{"queue concurrency", "routes: [{name: r, upstream: shop, item: {query: i}, queue: {concurrency_per_item: -1}}]", "routes[0].queue.concurrency_per_item", "want a number > 0"},
		{"queue waiting", "routes: [{name: r, upstream: shop, item: {query: i}, queue: {max_waiting: -1}}]", "routes[0].queue.max_waiting", "want a number > 0"},
		{"shadowed catch-all", "routes: [{name: all, upstream: shop}, {name: item, upstream: shop, match: {path: /item/}}]", "routes[1].match", `route "item" is never reached: route "all" (line 1) matches all its requests first; move it before`},
		{"shadowed exact", "routes: [{name: frag, upstream: shop, match: {path: /frag/}}, {name: user, upstream: shop, match: {path_exact: /frag/user}}]", "routes[1].match", `route "user" is never reached`},
		{"shadowed methods", "routes: [{name: a, upstream: shop, match: {path: /o, methods: [GET, POST]}}, {name: b, upstream: shop, match: {path: /o/x, methods: [POST]}}]", "routes[1].match", "never reached"},
		// sales
		{"sale nil", itemRoute + "sales: [~]", "sales[0]", "want a sale"},
		{"sale item", itemRoute + "sales: [{stock: 1}]", "sales[0].item", "required"},
		{"sale item chars", itemRoute + "sales: [{item: \"{42}\", name: n}]", "sales[0].item", "want 1 to 64 characters among"},
		{"sale item dup", itemRoute + "sales: [{item: \"42\"}, {item: \"42\", name: other}]", "sales[1].item", `duplicate item "42" (also sales[0])`},
		{"sale name", itemRoute + "sales: [{item: \"42\", name: \"big sale\"}]", "sales[0].name", "want letters, digits"},
		{"sale default name", itemRoute + "sales: [{item: \"a:b\"}]", "sales[0].name", `got "item-a:b"; set name`},
		{"sale name dup", itemRoute + "sales: [{item: \"1\", name: s}, {item: \"2\", name: s}]", "sales[1].name", `duplicate sale name "s"`},
		{"sale stock", itemRoute + "sales: [{item: \"1\", stock: -1}]", "sales[0].stock", "want a number ≥ 0, got -1"},
		{"sale window", itemRoute + "sales: [{item: \"1\", starts: 2026-12-12T10:00:00Z, ends: 2026-12-12T09:00:00Z}]", "sales[0].ends", "must be after starts (2026-12-12T10:00:00Z), got 2026-12-12T09:00:00Z"},
		{"sales without item route", "sales: [{item: \"1\"}]", "sales", "no route says where a request's item id is"},
		// quiz and hot keys
		{"quiz secret", "quiz_bank: {secret: short}", "quiz_bank.secret", "want at least 32 bytes"},
		{"quiz size", "quiz_bank: {secret: " + secret32 + ", size: -1}", "quiz_bank.size", "want 1 to 100000 questions"},
		{"quiz regenerate", "quiz_bank: {secret: " + secret32 + ", regenerate: 5s}", "quiz_bank.regenerate", "at least 1m"},
		{"quiz needs bank", id + "routes: [{name: o, upstream: shop, item: {query: item}, identity: required, quiz: {}}]", "routes[0].quiz", "needs a top-level quiz_bank"},
		{"quiz needs identity", "quiz_bank: {secret: " + secret32 + "}\n" + "routes: [{name: o, upstream: shop, item: {query: item}, quiz: {}}]", "routes[0].quiz", "needs identity: required"},
		{"quiz think", id + "quiz_bank: {secret: " + secret32 + "}\nroutes: [{name: o, upstream: shop, item: {query: item}, identity: required, quiz: {min_think: 3m}}]", "routes[0].quiz.min_think", "want less than max_age"},
		{"hot threshold top", "hot: {top: 0}\nroutes: [{name: r, upstream: shop, hot: {max_conn_share: 2}}]", "routes[0].hot.max_conn_share", "between 0 and 1"},
		{"hot micro cache", "routes: [{name: r, upstream: shop, hot: {micro_cache: 2m}}]", "routes[0].hot.micro_cache", "want 0 to 1m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ps := problemsOf(t, base(tt.doc), noEnv)
			if len(ps) != 1 || ps[0].Path != tt.path || !strings.Contains(ps[0].Msg, tt.msg) {
				t.Errorf("problems = %q\nwant one at %q containing %q", ps, tt.path, tt.msg)
			}
			if ps[0].Line == 0 && tt.path != "sales" {
				t.Errorf("problem %q has no line", ps[0])
			}
		})
	}
}

// Documents at the edge of the rules, which must be accepted.
func TestValidationAccepts(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"listen any port":        "listen: \":0\"\nadmin: {listen: \"127.0.0.1:0\"}",
		"admin on localhost":     "admin: {listen: \"localhost:9090\"}",
		"admin ipv6 loopback":    "admin: {listen: \"[::1]:9090\"}",
		"admin open with token":  "admin: {listen: 0.0.0.0:9090, token: t}",
		"same port other host":   "listen: 127.0.0.1:8080\nadmin: {listen: 127.0.0.2:8080}",
		"identity both":          "identity: {header: X-User-Id, cookie: session}",
		"jwt hs256":              "identity: {cookie: s, jwt: {hs256_secret: " + secret32 + "}}",
		"wildcard host":          "routes: [{name: r, upstream: shop, match: {host: \"*.example.com\"}}]",
		"exact before prefix":    "routes: [{name: u, upstream: shop, match: {path_exact: /frag/user}}, {name: f, upstream: shop, match: {path: /frag/}}]",
		"prefix not segment":     "routes: [{name: a, upstream: shop, match: {path: /item}}, {name: b, upstream: shop, match: {path: /items}}]",
		"other method after":     "routes: [{name: a, upstream: shop, match: {path: /o, methods: [GET]}}, {name: b, upstream: shop, match: {path: /o}}]",
		"other host after":       "routes: [{name: a, upstream: shop, match: {host: a.com}}, {name: b, upstream: shop}]",
		"burst zero is default":  "routes: [{name: r, upstream: shop, ratelimit: [{per: route, rate: 1/s, burst: 0}]}]",
		"sale open window":       "routes: [{name: r, upstream: shop, item: {path_segment: 2}}]\nsales: [{item: \"42\", ends: 2030-01-01T00:00:00Z}]",
		"stock per_user":         "identity: {cookie: s}\nroutes: [{name: r, upstream: shop, identity: required, item: {form: id}, stock: {per_user: 2}, queue: {mode: ASYNC}}]",
		"empty document extras":  "x-note: anything goes under x- keys",
		"redis cluster":          "redis: {addrs: [\"r1:6379\", \"r2:6379\"], on_error: OPEN}",
		"trusted proxies mixed":  "trusted_proxies: [10.0.0.0/8, 192.168.1.1, \"fd00::/8\", \"::1\"]",
		"yaml 1.1 booleans":      "log: {access: yes}",
		"quoted and hex numbers": "server: {max_conns: \"1_000\"}\nupstreams: {shop: {servers: [\"a:1\"], max_conns: 0x40}}",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			mustParse(t, base(doc))
		})
	}
}

func TestRS256PublicKey(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pkix := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)})
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecDER})

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "shop.pem"), pkix, 0o600); err != nil {
		t.Fatal(err)
	}
	doc := func(k string) string {
		return base("identity:\n  cookie: s\n  jwt:\n    rs256_public_key: |\n      " + strings.ReplaceAll(strings.TrimSpace(k), "\n", "\n      ") + "\n")
	}
	mustParse(t, doc(string(pkix)))
	mustParse(t, doc(string(pkcs1)))

	// A relative path is relative to the configuration file.
	c, err := parse(filepath.Join(dir, "edge.yaml"), []byte(base("identity: {cookie: s, jwt: {rs256_public_key: shop.pem}}")), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Identity.JWT.RS256PublicKey; got != filepath.Join(dir, "shop.pem") {
		t.Errorf("key path = %q, want it resolved next to the config", got)
	}

	ps := problemsOf(t, doc(string(ecPEM)), noEnv)
	if len(ps) != 1 || !strings.Contains(ps[0].Msg, "want an RSA public key") {
		t.Errorf("EC key: %q", ps)
	}
}
