package esi

import "unicode/utf8"

// appendHTMLEscaped appends b with the five characters that matter in HTML
// text and attribute values replaced by character references, so a variable
// value (a cookie, a query parameter) can never open a tag in the page.
func appendHTMLEscaped(dst, b []byte) []byte {
	last := 0
	for i, c := range b {
		var rep string
		switch c {
		case '&':
			rep = "&amp;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		case '"':
			rep = "&#34;"
		case '\'':
			rep = "&#39;"
		default:
			continue
		}
		dst = append(dst, b[last:i]...)
		dst = append(dst, rep...)
		last = i + 1
	}
	return append(dst, b[last:]...)
}

const hexUpper = "0123456789ABCDEF"

// isUnreserved reports the RFC 3986 unreserved characters, the only ones a
// URI component may carry unencoded.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// isURLSafe reports bytes that may stand unencoded somewhere in a URL
// (reserved and unreserved characters and '%'); everything else (controls,
// space, quotes, angle brackets, non-ASCII) must be percent-encoded.
func isURLSafe(c byte) bool {
	if isUnreserved(c) {
		return true
	}
	switch c {
	case '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@', '/', '?', '%':
		return true
	}
	return false
}

// appendComponentEscaped appends b percent-encoded as a URI component: only
// unreserved characters stay as they are, so a value can neither add query
// parameters nor change the path ('/', '?', '&', '=', '#' are all encoded).
func appendComponentEscaped(dst, b []byte) []byte {
	for _, c := range b {
		if isUnreserved(c) {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hexUpper[c>>4], hexUpper[c&15])
	}
	return dst
}

// appendQueryEscaped appends an already-encoded query string (the whole
// $(QUERY_STRING)): its '&', '=' and '%' are kept so the parameters carry
// over, while '#' and bytes never valid in a URL are encoded.
func appendQueryEscaped(dst, b []byte) []byte {
	for _, c := range b {
		if c != '#' && isURLSafe(c) {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hexUpper[c>>4], hexUpper[c&15])
	}
	return dst
}

// appendURLSanitized copies a resolved path or query, percent-encoding bytes
// that may not appear in a request line (spaces, controls, quotes,
// non-ASCII) and leaving everything else, '%' included, as written.
func appendURLSanitized(dst, b []byte) []byte {
	for _, c := range b {
		if isURLSafe(c) {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hexUpper[c>>4], hexUpper[c&15])
	}
	return dst
}

// appendEntityDecoded appends an XML attribute value with its entity
// references decoded: &amp; &lt; &gt; &quot; &apos; and numeric references
// (&#38; &#x26;). Unknown or malformed references are kept as written; a
// numeric reference to an invalid code point becomes U+FFFD.
func appendEntityDecoded(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		if c != '&' {
			dst = append(dst, c)
			i++
			continue
		}
		end := -1
		for k := i + 1; k < len(b) && k < i+32; k++ {
			if b[k] == ';' {
				end = k
				break
			}
			if b[k] == '&' || isSpace(b[k]) {
				break
			}
		}
		if end < 0 {
			dst = append(dst, c)
			i++
			continue
		}
		name := b[i+1 : end]
		switch string(name) {
		case "amp":
			dst = append(dst, '&')
		case "lt":
			dst = append(dst, '<')
		case "gt":
			dst = append(dst, '>')
		case "quot":
			dst = append(dst, '"')
		case "apos":
			dst = append(dst, '\'')
		default:
			r, ok := numericRef(name)
			if !ok {
				dst = append(dst, b[i:end+1]...)
				i = end + 1
				continue
			}
			dst = utf8.AppendRune(dst, r)
		}
		i = end + 1
	}
	return dst
}

// numericRef decodes the body of a numeric character reference ("#38",
// "#x26"). ok is false when name is not a numeric reference at all.
func numericRef(name []byte) (r rune, ok bool) {
	if len(name) < 2 || name[0] != '#' {
		return 0, false
	}
	digits, base := name[1:], rune(10)
	if digits[0] == 'x' || digits[0] == 'X' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 {
		return 0, false
	}
	for _, c := range digits {
		var d rune
		switch {
		case '0' <= c && c <= '9':
			d = rune(c - '0')
		case base == 16 && 'a' <= c && c <= 'f':
			d = rune(c-'a') + 10
		case base == 16 && 'A' <= c && c <= 'F':
			d = rune(c-'A') + 10
		default:
			return 0, false
		}
		r = r*base + d
		if r > utf8.MaxRune {
			r = utf8.MaxRune + 1 // keep saturated; invalid below
		}
	}
	if r == 0 || !utf8.ValidRune(r) {
		return utf8.RuneError, true
	}
	return r, true
}
