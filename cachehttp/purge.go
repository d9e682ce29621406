package cachehttp

import (
	"strings"
)

// PurgeRequest says what to purge. Exactly one of URL, Prefix and Tag is
// used (in that order of preference).
type PurgeRequest struct {
	// URL purges one URL with all its variants. An absolute URL
	// ("https://shop.example/item/42?x=1") names one scheme and host; a path
	// ("/item/42?x=1") purges that path on every scheme and host. It is
	// normalised like a request (ignored parameters dropped, query sorted).
	URL string `json:"url,omitempty"`
	// Prefix purges every URL starting with it: absolute
	// ("https://shop.example/item/") or a path prefix on every host
	// ("/item/"). "/" purges everything.
	Prefix string `json:"prefix,omitempty"`
	// Tag purges every response that carried it in Surrogate-Key
	// (space-separated) or Cache-Tag (comma-separated).
	Tag string `json:"tag,omitempty"`
	// Soft marks the responses stale instead of removing them: they are
	// then served under their stale-while-revalidate and stale-if-error
	// windows while one request refreshes them.
	Soft bool `json:"soft,omitempty"`
}

// Purge removes (or with Soft, marks stale) the matching responses on this
// node and, once StartBus ran, on every other node. It returns how many
// responses this node held (each variant counts).
func (c *Cache) Purge(req PurgeRequest) int {
	n := c.purgeLocal(req)
	c.publish(req)
	return n
}

// purgeLocal applies req to this node's store.
func (c *Cache) purgeLocal(req PurgeRequest) int {
	var keys []string
	var kind string
	switch {
	case req.URL != "":
		kind = PurgeURL
		keys = c.urlKeys(req.URL)
	case req.Prefix != "":
		kind = PurgePrefix
		keys = c.prefixKeys(req.Prefix)
	case req.Tag != "":
		kind = PurgeTag
		keys = c.store.tagged(req.Tag)
	default:
		return 0
	}
	c.metrics.purges.WithLabelValues(kind).Inc()
	n := 0
	now := c.now()
	for _, k := range keys {
		if req.Soft {
			n += c.store.markStale(k, now)
		} else {
			n += c.store.remove(k)
		}
	}
	return n
}

// urlKeys returns the stored keys for a purge URL.
func (c *Cache) urlKeys(u string) []string {
	if strings.HasPrefix(u, "/") {
		t, ok := c.normalTarget(u)
		if !ok {
			return nil
		}
		return c.store.keys(func(k string) bool { return keyTarget(k) == t })
	}
	scheme, host, target, ok := splitURL(u)
	if !ok {
		return nil
	}
	key, err := AppendKey(nil, []byte(scheme), []byte(host), []byte(target), c.filter.Load())
	if err != nil {
		return nil
	}
	return []string{string(key)}
}

// prefixKeys returns the stored keys starting with a purge prefix.
func (c *Cache) prefixKeys(p string) []string {
	if strings.HasPrefix(p, "/") {
		t, ok := c.normalTarget(p)
		if !ok {
			t = p
		}
		if strings.HasSuffix(p, "/") && !strings.HasSuffix(t, "/") {
			t += "/"
		}
		return c.store.keys(func(k string) bool { return strings.HasPrefix(keyTarget(k), t) })
	}
	scheme, host, target, ok := splitURL(p)
	if !ok {
		return nil
	}
	prefix := strings.ToLower(scheme) + "://" + strings.ToLower(host) + target
	if key, err := AppendKey(nil, []byte(scheme), []byte(host), []byte(target), c.filter.Load()); err == nil {
		prefix = string(key)
	}
	return c.store.keys(func(k string) bool { return strings.HasPrefix(k, prefix) })
}

// normalTarget normalises a path (and query) as a key would.
func (c *Cache) normalTarget(path string) (string, bool) {
	key, err := AppendKey(nil, strHTTP, nil, []byte(path), c.filter.Load())
	if err != nil {
		return "", false
	}
	return keyTarget(string(key)), true
}

// keyTarget is the path and query of a key.
func keyTarget(key string) string {
	i := strings.Index(key, "://")
	if i < 0 {
		return key
	}
	rest := key[i+3:]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		return rest[j:]
	}
	return "/"
}

// splitURL splits an absolute URL into scheme, host and request target.
func splitURL(u string) (scheme, host, target string, ok bool) {
	i := strings.Index(u, "://")
	if i <= 0 {
		return "", "", "", false
	}
	scheme, rest := u[:i], u[i+3:]
	j := strings.IndexAny(rest, "/?")
	if j < 0 {
		return scheme, rest, "/", true
	}
	host, target = rest[:j], rest[j:]
	if target[0] == '?' {
		target = "/" + target
	}
	return scheme, host, target, true
}
