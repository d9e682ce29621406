// Package httplist walks HTTP header values that are comma-separated lists
// of items with ';'-separated parameters, such as Accept-Encoding and
// Accept-Language ("gzip;q=1.0, br;q=0.9"). It allocates nothing: every
// result is a sub-slice of the input, so callers on a hot path can read
// request headers without copying them.
package httplist

import "bytes"

// Next splits the first item off a comma-separated list. item is the part
// before the first ';', trimmed of surrounding whitespace (it may be empty
// for a list like ",,gzip"); params is the raw text after that ';' (nil when
// there is none), to be read with ZeroQ; rest is what follows the ',' (nil
// at the end). Loop while len(rest) > 0.
func Next(list []byte) (item, params, rest []byte) {
	item = list
	if i := bytes.IndexByte(list, ','); i >= 0 {
		item, rest = list[:i], list[i+1:]
	}
	if i := bytes.IndexByte(item, ';'); i >= 0 {
		item, params = item[:i], item[i+1:]
	}
	return bytes.TrimSpace(item), params, rest
}

// ZeroQ reports whether an item's parameters (the params from Next) hold a
// quality of zero ("q=0", "Q=0.000"), which RFC 9110 §12.4.2 defines as
// "not acceptable". Only the first q parameter counts; an empty or
// non-numeric value is not zero.
func ZeroQ(params []byte) bool {
	for len(params) > 0 {
		p := params
		params = nil
		if i := bytes.IndexByte(p, ';'); i >= 0 {
			p, params = p[:i], p[i+1:]
		}
		p = bytes.TrimSpace(p)
		if len(p) < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=' {
			continue
		}
		v := bytes.TrimSpace(p[2:])
		if len(v) == 0 {
			return false
		}
		for _, c := range v {
			if c != '0' && c != '.' {
				return false
			}
		}
		return true
	}
	return false
}
