package esi

import "bytes"

var (
	tokOpen       = []byte("<esi:")
	tokClose      = []byte("</esi:")
	tokComment    = []byte("<!--esi")
	tokCommentEnd = []byte("-->")
)

// HasESI reports whether body contains ESI markup (an "<esi:" tag or an
// "<!--esi" comment). Bodies without it need no template: store and serve
// them byte for byte. The check is a plain substring search, so a false
// positive only costs a Parse that yields a single literal.
func HasESI(body []byte) bool {
	return bytes.Contains(body, tokOpen) || bytes.Contains(body, tokComment)
}

// tokKind classifies the markup found by nextToken.
type tokKind uint8

const (
	tokNone       tokKind = iota
	tokTagOpen            // <esi:name ...> or <esi:name .../>
	tokTagClose           // </esi:name>
	tokCommentTag         // <!--esi
)

// nextToken returns the offset and kind of the next ESI markup at or after
// pos, or -1.
func nextToken(b []byte, pos int) (int, tokKind) {
	for pos < len(b) {
		i := bytes.IndexByte(b[pos:], '<')
		if i < 0 {
			return -1, tokNone
		}
		i += pos
		rest := b[i:]
		switch {
		case bytes.HasPrefix(rest, tokOpen):
			return i, tokTagOpen
		case bytes.HasPrefix(rest, tokClose):
			return i, tokTagClose
		case bytes.HasPrefix(rest, tokComment):
			return i, tokCommentTag
		}
		pos = i + 1
	}
	return -1, tokNone
}

// maxAttrs bounds the attributes kept per tag; more are ignored.
const maxAttrs = 8

// maxTagLen bounds one tag's length; a longer "tag" is treated as text.
const maxTagLen = 64 << 10

// attr is one raw attribute of a tag; val is not yet entity-decoded.
type attr struct {
	name, val []byte
}

// tag is one scanned ESI start or end tag.
type tag struct {
	start, end int // tag text is b[start:end]
	name       []byte
	selfClose  bool
	attrs      [maxAttrs]attr
	nattrs     int
	dropped    int // attributes beyond maxAttrs
}

// attr returns the raw value of the named attribute.
func (t *tag) attr(name string) ([]byte, bool) {
	for i := 0; i < t.nattrs; i++ {
		if string(t.attrs[i].name) == name {
			return t.attrs[i].val, true
		}
	}
	return nil, false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func isNameByte(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// scanOpenTag scans "<esi:name attr="v" ...>" or ".../>" at b[i:]. ok is
// false when the tag is malformed (no name, an unterminated quote, no '>'
// before the end of input or within maxTagLen).
func scanOpenTag(b []byte, i int) (t tag, ok bool) {
	t.start = i
	limit := len(b)
	if limit-i > maxTagLen {
		limit = i + maxTagLen
	}
	p := i + len(tokOpen)
	n := p
	for n < limit && isNameByte(b[n]) {
		n++
	}
	if n == p || n >= limit {
		return t, false
	}
	t.name = b[p:n]
	p = n
	if c := b[p]; !isSpace(c) && c != '/' && c != '>' {
		return t, false
	}
	for p < limit {
		c := b[p]
		switch {
		case isSpace(c):
			p++
		case c == '>':
			t.end = p + 1
			return t, true
		case c == '/' && p+1 < limit && b[p+1] == '>':
			t.selfClose = true
			t.end = p + 2
			return t, true
		case c == '/' || c == '"' || c == '\'' || c == '=':
			p++ // stray punctuation between attributes: skip it
		default:
			var a attr
			var good bool
			a, p, good = scanAttr(b, p, limit)
			if !good {
				return t, false
			}
			if t.nattrs < maxAttrs {
				t.attrs[t.nattrs] = a
				t.nattrs++
			} else {
				t.dropped++
			}
		}
	}
	return t, false
}

// scanAttr scans name[=value] at b[p:]. Values may be double-quoted,
// single-quoted or bare (up to white space or '>').
func scanAttr(b []byte, p, limit int) (a attr, next int, ok bool) {
	s := p
	for p < limit && !isSpace(b[p]) && b[p] != '=' && b[p] != '>' && b[p] != '/' && b[p] != '"' && b[p] != '\'' {
		p++
	}
	a.name = b[s:p]
	for p < limit && isSpace(b[p]) {
		p++
	}
	if p >= limit || b[p] != '=' {
		return a, p, p < limit
	}
	p++
	for p < limit && isSpace(b[p]) {
		p++
	}
	if p >= limit {
		return a, p, false
	}
	if q := b[p]; q == '"' || q == '\'' {
		e := bytes.IndexByte(b[p+1:limit], q)
		if e < 0 {
			return a, p, false
		}
		a.val = b[p+1 : p+1+e]
		return a, p + e + 2, true
	}
	s = p
	for p < limit && !isSpace(b[p]) && b[p] != '>' {
		p++
	}
	a.val = b[s:p]
	return a, p, p < limit
}

// scanCloseTag scans "</esi:name>" (white space before '>' allowed) at b[i:].
func scanCloseTag(b []byte, i int) (name []byte, end int, ok bool) {
	p := i + len(tokClose)
	n := p
	for n < len(b) && isNameByte(b[n]) {
		n++
	}
	if n == p {
		return nil, 0, false
	}
	name = b[p:n]
	for n < len(b) && n-p < 64 && isSpace(b[n]) {
		n++
	}
	if n >= len(b) || b[n] != '>' {
		return nil, 0, false
	}
	return name, n + 1, true
}

// findClose returns the offset of the end tag "</esi:name>" at or after
// pos, and the offset just past it; -1 when there is none.
func findClose(b []byte, pos int, name []byte) (at, end int) {
	for pos < len(b) {
		i := bytes.Index(b[pos:], tokClose)
		if i < 0 {
			return -1, -1
		}
		i += pos
		if n, e, ok := scanCloseTag(b, i); ok && bytes.Equal(n, name) {
			return i, e
		}
		pos = i + len(tokClose)
	}
	return -1, -1
}
