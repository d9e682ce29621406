package cachehttp

import (
	"bytes"
	"errors"

	"github.com/valyala/fasthttp"
)

// ErrInvalidURI is what AppendKey returns (wrapped in a *KeyError) for a
// request it refuses to normalise: the gateway answers such requests 400,
// because two spellings of one resource must never get two cache entries and
// a path the origin might read differently must never get one.
var ErrInvalidURI = errors.New("cachehttp: request URI cannot be normalised")

// KeyError says why a request URI or host was refused. It matches
// ErrInvalidURI with errors.Is.
type KeyError struct {
	// Reason is a short fixed text ("encoded slash", "path above root"...).
	Reason string
}

func (e *KeyError) Error() string { return "cachehttp: invalid request URI: " + e.Reason }

// Is makes errors.Is(err, ErrInvalidURI) hold.
func (e *KeyError) Is(target error) bool { return target == ErrInvalidURI }

// The refusals are package values so the error path does not allocate.
var (
	errScheme       = &KeyError{"bad scheme"}
	errHost         = &KeyError{"bad host"}
	errPort         = &KeyError{"bad port"}
	errRequestURI   = &KeyError{"bad request target"}
	errPercent      = &KeyError{"bad percent-encoding"}
	errEncodedSlash = &KeyError{"encoded slash in path"}
	errNUL          = &KeyError{"NUL in path"}
	errControl      = &KeyError{"control character"}
	errAboveRoot    = &KeyError{"path above root"}
)

// AppendKey appends the cache key of a request to dst and returns it.
//
// The key is scheme "://" host path ["?" query], normalised so that every
// spelling of one resource gives one key:
//   - scheme and host are lower-cased, a trailing dot of the host name and
//     the scheme's default port are dropped (":80" for http, ":443" for
//     https);
//   - the path has "//" collapsed, "." and ".." segments resolved (after
//     decoding, so "%2e%2E" counts), percent-encoded unreserved characters
//     decoded, every other percent-encoding in upper-case hex, and characters
//     not allowed raw in a path percent-encoded;
//   - the query has its empty parameters and those matched by ignore dropped,
//     the same percent-encoding rules applied, and the parameters sorted by
//     name (parameters of one name keep their order, which may matter to the
//     origin);
//   - a fragment is dropped. Cookies are never part of a key.
//
// uri is the request target as received: origin-form ("/p?q") or
// absolute-form ("http://h/p?q", whose scheme and authority are skipped: host
// and scheme come from the arguments). A request that cannot be normalised
// safely — ".." above the root, an encoded "/" or NUL in the path, a control
// character, a malformed percent-encoding, host or port — gives an error
// matching ErrInvalidURI and dst unchanged in length.
//
// Normalising a key's own path and query again gives the same key. The
// function does not allocate when dst has room (fewer than 64 query
// parameters).
func AppendKey(dst []byte, scheme, host, uri []byte, ignore *ParamFilter) ([]byte, error) {
	start := len(dst)
	out, err := appendKey(dst, scheme, host, uri, ignore)
	if err != nil {
		return dst[:start], err
	}
	return out, nil
}

func appendKey(dst []byte, scheme, host, uri []byte, ignore *ParamFilter) ([]byte, error) {
	if len(scheme) == 0 {
		return dst, errScheme
	}
	for _, c := range scheme {
		c = toLower(c)
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '+' && c != '-' && c != '.' {
			return dst, errScheme
		}
		dst = append(dst, c)
	}
	defPort := 0
	switch string(dst[len(dst)-len(scheme):]) {
	case "http":
		defPort = 80
	case "https":
		defPort = 443
	}
	dst = append(dst, "://"...)
	dst, err := appendHost(dst, host, defPort)
	if err != nil {
		return dst, err
	}
	target, err := requestTarget(uri)
	if err != nil {
		return dst, err
	}
	path, query := target, []byte(nil)
	for i, c := range target {
		if c == '?' {
			path, query = target[:i], target[i+1:]
			break
		}
	}
	if dst, err = appendPath(dst, path); err != nil {
		return dst, err
	}
	return appendQuery(dst, query, ignore)
}

// requestTarget returns the path and query of uri: absolute-form loses its
// scheme and authority, any fragment is cut.
func requestTarget(uri []byte) ([]byte, error) {
	for i, c := range uri {
		if c == '#' {
			uri = uri[:i]
			break
		}
	}
	if len(uri) == 0 {
		return slashBytes, nil
	}
	if uri[0] == '/' {
		return uri, nil
	}
	// absolute-form: scheme "://" authority [path-abempty] ["?" query]
	i := 0
	for i < len(uri) && uri[i] != ':' {
		c := toLower(uri[i])
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '+' && c != '-' && c != '.' {
			return nil, errRequestURI
		}
		i++
	}
	if i == 0 || len(uri) < i+3 || uri[i+1] != '/' || uri[i+2] != '/' {
		return nil, errRequestURI
	}
	rest := uri[i+3:]
	for j, c := range rest {
		switch c {
		case '/':
			return rest[j:], nil
		case '?':
			// "http://h?q": the path is empty, which means "/".
			return rest[j:], nil
		}
	}
	return slashBytes, nil
}

var slashBytes = []byte("/")

// appendHost appends the lower-cased host with its default port dropped.
func appendHost(dst, host []byte, defPort int) ([]byte, error) {
	if len(host) == 0 {
		return dst, nil
	}
	name, port := host, []byte(nil)
	if host[0] == '[' {
		end := -1
		for i, c := range host {
			if c == ']' {
				end = i
				break
			}
		}
		if end < 0 {
			return dst, errHost
		}
		name = host[:end+1]
		rest := host[end+1:]
		if len(rest) > 0 {
			if rest[0] != ':' {
				return dst, errHost
			}
			port = rest[1:]
		}
		for _, c := range name[1 : len(name)-1] {
			c = toLower(c)
			if !isHex(c) && c != ':' && c != '.' {
				return dst, errHost
			}
		}
		if len(name) == 2 {
			return dst, errHost
		}
		for _, c := range name {
			dst = append(dst, toLower(c))
		}
	} else {
		if i := bytes.LastIndexByte(host, ':'); i >= 0 {
			name, port = host[:i], host[i+1:]
		}
		// "shop.example." is "shop.example".
		for len(name) > 0 && name[len(name)-1] == '.' {
			name = name[:len(name)-1]
		}
		if len(name) == 0 {
			return dst, errHost
		}
		// Copied whole, then checked and lowered in place by table.
		start := len(dst)
		dst = append(dst, name...)
		for i, c := range dst[start:] {
			l := hostLower[c]
			if l == 0 {
				return dst, errHost
			}
			dst[start+i] = l
		}
	}
	if len(port) == 0 {
		return dst, nil
	}
	if len(port) > 5 {
		// Leading zeros beyond five digits are silly, not harmful: refuse.
		return dst, errPort
	}
	n := 0
	for _, c := range port {
		if c < '0' || c > '9' {
			return dst, errPort
		}
		n = n*10 + int(c-'0')
	}
	if n == 0 || n > 65535 {
		return dst, errPort
	}
	if n == defPort {
		return dst, nil
	}
	dst = append(dst, ':')
	if port[0] != '0' {
		return append(dst, port...), nil // digits as they stand are the number
	}
	return fasthttp.AppendUint(dst, n), nil
}

// hostLower maps a byte allowed in a host name to its lower case, and every
// other byte to 0.
var hostLower = func() (t [256]byte) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = byte(c), byte(c)
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c)
	}
	t['-'], t['.'], t['_'] = '-', '.', '_'
	return t
}()

// appendPath appends the normalised form of p (which should start with
// "/"; a relative path is taken as relative to the root).
func appendPath(dst, p []byte) ([]byte, error) {
	base := len(dst)
	dst = append(dst, '/')
	i := 0
	if len(p) > 0 && p[0] == '/' {
		i = 1
	}
	for i <= len(p) {
		segStart := len(dst)
		j := i
		for j < len(p) && p[j] != '/' {
			// Copy a run of characters that stand as they are.
			k := j
			for k < len(p) && charClass[p[k]]&pathRaw != 0 {
				k++
			}
			if k > j {
				dst = append(dst, p[j:k]...)
				j = k
				continue
			}
			c := p[j]
			j++
			if c == '%' {
				b, ok := unhex2(p, j-1)
				if !ok {
					return dst, errPercent
				}
				j += 2
				switch {
				case b == '/':
					return dst, errEncodedSlash
				case b == 0:
					return dst, errNUL
				case isUnreserved(b):
					dst = append(dst, b)
				default:
					dst = appendPercent(dst, b)
				}
				continue
			}
			var err error
			if dst, err = appendRaw(dst, c, pathRaw); err != nil {
				return dst, err
			}
		}
		seg := dst[segStart:]
		atEnd := j >= len(p)
		switch {
		case len(seg) == 0:
			// "//" or the trailing slash: dst already ends with '/'.
		case len(seg) == 1 && seg[0] == '.':
			dst = dst[:segStart]
		case len(seg) == 2 && seg[0] == '.' && seg[1] == '.':
			if segStart-1 == base {
				return dst, errAboveRoot
			}
			k := segStart - 2
			for dst[k] != '/' {
				k--
			}
			dst = dst[:k+1]
		default:
			if !atEnd {
				dst = append(dst, '/')
			}
		}
		i = j + 1
	}
	return dst, nil
}

// span is one query parameter written into the key buffer.
type span struct{ start, nameEnd, end int32 }

// appendQuery appends "?" and the normalised, filtered, sorted query, or
// nothing when no parameter is left.
func appendQuery(dst, q []byte, ignore *ParamFilter) ([]byte, error) {
	if len(q) == 0 {
		return dst, nil
	}
	qStart := len(dst)
	dst = append(dst, '?')
	var arr [64]span
	spans := arr[:0]
	sorted := true
	for i := 0; i <= len(q); {
		sep := len(dst)
		if len(spans) > 0 {
			dst = append(dst, '&')
		}
		pStart := len(dst)
		nameEnd := -1
		j := i
		for j < len(q) && q[j] != '&' {
			// Copy a run of characters that stand as they are.
			k := j
			for k < len(q) && charClass[q[k]]&queryRun != 0 {
				k++
			}
			if k > j {
				dst = append(dst, q[j:k]...)
				j = k
				continue
			}
			c := q[j]
			switch c {
			case '%':
				b, ok := unhex2(q, j)
				if !ok {
					return dst, errPercent
				}
				j += 3
				if isUnreserved(b) {
					dst = append(dst, b)
				} else {
					dst = appendPercent(dst, b)
				}
				continue
			case '=':
				if nameEnd < 0 {
					nameEnd = len(dst)
				}
			}
			j++
			var err error
			if dst, err = appendRaw(dst, c, queryRaw); err != nil {
				return dst, err
			}
		}
		i = j + 1
		if nameEnd < 0 {
			nameEnd = len(dst)
		}
		if len(dst) == pStart || ignore.Drop(dst[pStart:nameEnd]) {
			dst = dst[:sep] // "&&", or a parameter the key ignores
			continue
		}
		s := span{int32(pStart), int32(nameEnd), int32(len(dst))}
		if n := len(spans); n > 0 && compareNames(dst, spans[n-1], s) > 0 {
			sorted = false
		}
		spans = append(spans, s)
	}
	if len(spans) == 0 {
		return dst[:qStart], nil
	}
	if sorted {
		return dst, nil
	}
	sortSpans(dst, spans)
	// Write the parameters in order after the query, then move them over it.
	tmp := len(dst)
	for k, s := range spans {
		if k > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, dst[s.start:s.end]...)
	}
	n := copy(dst[qStart+1:], dst[tmp:])
	return dst[:qStart+1+n], nil
}

// compareNames orders two parameters by name.
func compareNames(buf []byte, a, b span) int {
	an, bn := buf[a.start:a.nameEnd], buf[b.start:b.nameEnd]
	for i := 0; i < len(an) && i < len(bn); i++ {
		if an[i] != bn[i] {
			if an[i] < bn[i] {
				return -1
			}
			return 1
		}
	}
	return len(an) - len(bn)
}

// sortSpans is a stable sort by name: insertion sort for the usual handful,
// a merge sort beyond.
func sortSpans(buf []byte, s []span) {
	if len(s) <= 32 {
		for i := 1; i < len(s); i++ {
			for j := i; j > 0 && compareNames(buf, s[j-1], s[j]) > 0; j-- {
				s[j-1], s[j] = s[j], s[j-1]
			}
		}
		return
	}
	tmp := make([]span, len(s))
	mergeSort(buf, s, tmp)
}

func mergeSort(buf []byte, s, tmp []span) {
	if len(s) <= 32 {
		sortSpans(buf, s)
		return
	}
	mid := len(s) / 2
	mergeSort(buf, s[:mid], tmp[:mid])
	mergeSort(buf, s[mid:], tmp[mid:])
	copy(tmp, s)
	i, j, k := 0, mid, 0
	for i < mid && j < len(s) {
		if compareNames(buf, tmp[j], tmp[i]) < 0 {
			s[k] = tmp[j]
			j++
		} else {
			s[k] = tmp[i]
			i++
		}
		k++
	}
	for ; i < mid; i++ {
		s[k] = tmp[i]
		k++
	}
	for ; j < len(s); j++ {
		s[k] = tmp[j]
		k++
	}
}

// Character classes of the key's path and query.
const (
	pathRaw  = 1 << iota // allowed raw in a path segment
	queryRaw             // allowed raw in a query
	queryRun             // allowed raw in a query and not a delimiter ('&', '=')
)

var charClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		if isUnreserved(byte(c)) {
			t[c] = pathRaw | queryRaw
		}
	}
	for _, c := range []byte("!$&'()*+,;=:@") {
		t[c] = pathRaw | queryRaw
	}
	for _, c := range []byte("/?") {
		t[c] |= queryRaw
	}
	for c := range t {
		if t[c]&queryRaw != 0 && c != '&' && c != '=' {
			t[c] |= queryRun
		}
	}
	return t
}()

// appendRaw appends c when it may stand raw in this part, its
// percent-encoding when it must be encoded, and refuses control characters.
func appendRaw(dst []byte, c byte, class uint8) ([]byte, error) {
	if charClass[c]&class != 0 {
		return append(dst, c), nil
	}
	if c < 0x20 || c == 0x7f {
		return dst, errControl
	}
	return appendPercent(dst, c), nil
}

func isUnreserved(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

const upperHex = "0123456789ABCDEF"

func appendPercent(dst []byte, b byte) []byte {
	return append(dst, '%', upperHex[b>>4], upperHex[b&15])
}

// unhex2 decodes the two hex digits after s[i] == '%'.
func unhex2(s []byte, i int) (byte, bool) {
	if i+2 >= len(s) {
		return 0, false
	}
	h, ok1 := unhex(s[i+1])
	l, ok2 := unhex(s[i+2])
	return h<<4 | l, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func isHex(c byte) bool { _, ok := unhex(c); return ok }

func toLower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
