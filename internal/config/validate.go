package config

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path"
	"strconv"
	"strings"
)

// validator checks a decoded, defaulted Config and collects every problem
// with the line of the setting concerned.
type validator struct {
	file  string
	lines map[string]int  // path → line, from the decoder
	bad   map[string]bool // paths the decoder already reported
	errs  []Error
}

// add records a problem with the setting at p, unless the decoder already
// reported one for p, for a setting p is part of, or for a part of p (the
// value validation sees there is a placeholder, not what was written).
func (v *validator) add(p, format string, args ...any) {
	for q := p; ; q = parentPath(q) {
		if v.bad[q] {
			return
		}
		if q == "" {
			break
		}
	}
	for q := range v.bad {
		if len(q) > len(p) && strings.HasPrefix(q, p) && (p == "" || q[len(p)] == '.' || q[len(p)] == '[') {
			return
		}
	}
	v.errs = append(v.errs, Error{File: v.file, Line: v.line(p), Path: p, Msg: fmt.Sprintf(format, args...)})
}

// line is where the setting at p is written, or where the nearest setting
// containing it is (for a setting left out of the file).
func (v *validator) line(p string) int {
	for {
		if l, ok := v.lines[p]; ok {
			return l
		}
		if p == "" {
			return 0
		}
		p = parentPath(p)
	}
}

func (v *validator) config(c *Config) {
	v.listeners(c)
	v.server(&c.Server)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		v.add("log.level", "want debug, info, warn or error, got %q", c.Log.Level)
	}
	if c.Redis != nil {
		v.redis(c.Redis)
	}
	if c.Identity != nil {
		v.identity(c.Identity)
	}
	v.cache(&c.Cache)
	v.upstreams(c)
	v.routes(c)
	v.sales(c)
	v.quizHot(c)
}

func (v *validator) listeners(c *Config) {
	okPublic := v.hostPort("listen", c.Listen, true)
	okAdmin := v.hostPort("admin.listen", c.Admin.Listen, true)
	if okPublic && okAdmin && sameListener(c.Listen, c.Admin.Listen) {
		v.add("admin.listen", "must differ from listen %q, got %q", c.Listen, c.Admin.Listen)
	}
	if okAdmin && c.Admin.Token == "" && !isLoopback(c.Admin.Listen) {
		v.add("admin.token", "required when admin.listen is not a loopback address (got %q)", c.Admin.Listen)
	}
	if strings.ContainsAny(c.Admin.Token, " \t\r\n") {
		v.add("admin.token", "must not contain spaces or line breaks")
	}
}

func (v *validator) server(s *Server) {
	v.positive("server.max_conns", s.MaxConns)
	if !isToken(s.Via) {
		v.add("server.via", "want a name without spaces or commas, got %q", s.Via)
	}
	if s.MaxHeaderSize < 1*KiB {
		v.add("server.max_header_size", "want at least 1KiB, got %s", s.MaxHeaderSize)
	}
}

func (v *validator) redis(r *Redis) {
	if len(r.Addrs) == 0 {
		v.add("redis.addrs", "want at least one host:port (omit redis to keep state in memory)")
	}
	seen := map[string]bool{}
	for i, a := range r.Addrs {
		p := fmt.Sprintf("redis.addrs[%d]", i)
		if v.hostPort(p, a, false) && seen[a] {
			v.add(p, "duplicate address %q", a)
		}
		seen[a] = true
	}
	if r.OnError != "closed" && r.OnError != "open" {
		v.add("redis.on_error", "want closed or open, got %q", r.OnError)
	}
	if r.DB < 0 {
		v.add("redis.db", "want a number ≥ 0, got %d", r.DB)
	} else if r.DB != 0 && len(r.Addrs) > 1 {
		v.add("redis.db", "must be 0 with a Redis Cluster (several addrs), got %d", r.DB)
	}
	if strings.ContainsAny(r.Prefix, "{} \t\r\n") {
		v.add("redis.prefix", "must not contain braces or spaces (braces would change Redis Cluster hash slots), got %q", r.Prefix)
	}
}

func (v *validator) identity(id *Identity) {
	if id.Header == "" && id.Cookie == "" {
		v.add("identity", "want header or cookie (or both): where the shopper's id is found")
	}
	if id.Header != "" && !isToken(id.Header) {
		v.add("identity.header", "want a header name, got %q", id.Header)
	}
	if id.Cookie != "" && !isToken(id.Cookie) {
		v.add("identity.cookie", "want a cookie name, got %q", id.Cookie)
	}
	j := id.JWT
	if j == nil {
		return
	}
	switch {
	case j.HS256Secret == "" && j.RS256PublicKey == "":
		v.add("identity.jwt", "want hs256_secret or rs256_public_key")
	case j.HS256Secret != "" && j.RS256PublicKey != "":
		v.add("identity.jwt", "want hs256_secret or rs256_public_key, not both")
	case j.HS256Secret != "" && len(j.HS256Secret) < 32:
		// RFC 7518 §3.2: an HS256 key must be at least 256 bits.
		v.add("identity.jwt.hs256_secret", "want at least 32 bytes, got %d", len(j.HS256Secret))
	case j.RS256PublicKey != "":
		if err := checkRSAPublicKey(j.RS256PublicKey); err != nil {
			v.add("identity.jwt.rs256_public_key", "%v", err)
		}
	}
}

// checkRSAPublicKey checks that s (PEM text or a file path) holds an RSA
// public key or a certificate for one.
func checkRSAPublicKey(s string) error {
	data := []byte(s)
	if !isInlinePEM(s) {
		b, err := os.ReadFile(s)
		if err != nil {
			return fmt.Errorf("want PEM text or a readable file: %w", err)
		}
		data = b
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return fmt.Errorf("want a PEM block (-----BEGIN PUBLIC KEY-----), found none")
	}
	var key any
	var err error
	switch block.Type {
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	}
	if err != nil {
		return fmt.Errorf("cannot parse %s: %w", block.Type, err)
	}
	if _, ok := key.(*rsa.PublicKey); !ok {
		return fmt.Errorf("want an RSA public key, got %T", key)
	}
	return nil
}

func (v *validator) cache(c *Cache) {
	if c.HotSize >= c.Size {
		v.add("cache.hot_size", "must be less than cache.size (%s), got %s", c.Size, c.HotSize)
	}
	if c.Shards < 1 || c.Shards > 1<<16 || c.Shards&(c.Shards-1) != 0 {
		v.add("cache.shards", "want a power of two from 1 to 65536, got %d", c.Shards)
	}
	if c.MaxEntrySize > c.Size {
		v.add("cache.max_entry_size", "must not exceed cache.size (%s), got %s", c.Size, c.MaxEntrySize)
	}
	for i, g := range c.IgnoreParams {
		p := fmt.Sprintf("cache.ignore_params[%d]", i)
		if g == "" {
			v.add(p, "want a parameter name or glob like utm_*, got an empty string")
		} else if _, err := path.Match(g, ""); err != nil {
			v.add(p, "want a parameter name or glob like utm_*, got %q", g)
		}
	}
}

// hostPort checks a host:port address; listeners may leave the host empty
// (all interfaces) and use port 0 (any free port). It reports whether s is
// well formed.
func (v *validator) hostPort(p, s string, listener bool) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		v.add(p, "want host:port, got %q", s)
		return false
	}
	n, err := strconv.Atoi(port)
	lowest := 1
	if listener {
		lowest = 0
	}
	if err != nil || n < lowest || n > 65535 {
		v.add(p, "want a port number from %d to 65535, got %q", lowest, s)
		return false
	}
	if host == "" && !listener {
		v.add(p, "want host:port with a host, got %q", s)
		return false
	}
	if host != "" && !validHost(host, false) {
		v.add(p, "want host:port with a host name or IP address, got %q", s)
		return false
	}
	return true
}

// positive records a problem when a count is not above zero (zero counts
// were replaced by their defaults already, so only negatives get here).
func (v *validator) positive(p string, n int) {
	if n <= 0 {
		v.add(p, "want a number > 0, got %d", n)
	}
}

// sameListener reports whether two valid listen addresses would collide.
func sameListener(a, b string) bool {
	ha, pa, _ := net.SplitHostPort(a)
	hb, pb, _ := net.SplitHostPort(b)
	if pa != pb || pa == "0" {
		return false
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return strings.EqualFold(ha, hb) || wild(ha) || wild(hb)
}

// isLoopback reports whether a valid listen address is bound to loopback
// only.
func isLoopback(hostport string) bool {
	host, _, _ := net.SplitHostPort(hostport)
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2), as header
// names, cookie names and methods are.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHost reports whether s is a DNS name or an IP address; with
// wildcard, "*.example.com" is accepted too.
func validHost(s string, wildcard bool) bool {
	if wildcard && strings.HasPrefix(s, "*.") {
		s = s[2:]
	}
	if _, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return true
	}
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// validLabel reports whether s suits a metric label value and a log field:
// [a-zA-Z0-9_.-]+, at most 64 bytes.
func validLabel(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}
