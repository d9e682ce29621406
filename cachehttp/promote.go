package cachehttp

// PromoteURL moves the entry of a URL (host and request URI as a client sent
// them; both schemes) into the protected hot segment, so that a scan of cold
// URLs cannot evict it. Hot-key detection calls it when a URL turns hot. It
// reports whether an entry was found.
func (c *Cache) PromoteURL(host, uri []byte) bool {
	found := false
	var buf []byte
	for _, scheme := range [][]byte{strHTTP, strHTTPS} {
		key, err := AppendKey(buf[:0], scheme, host, uri, c.filter.Load())
		if err != nil {
			return false
		}
		buf = key
		if c.Promote(string(key)) {
			found = true
		}
	}
	return found
}
