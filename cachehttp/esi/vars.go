package esi

import "bytes"

// Vars gives the request-derived values ESI variables read. Every method
// returns the raw value (nil or empty when absent); the assembler escapes it
// for the place it lands. Methods are only called from the goroutine that
// calls Assemble, so an implementation over a request that is not safe for
// concurrent use (RequestVars over *fasthttp.Request) is fine. Returned
// slices are only read until Assemble returns.
type Vars interface {
	// Cookie returns the value of the named request cookie: $(HTTP_COOKIE{name}).
	Cookie(name []byte) []byte
	// Host returns the Host header: $(HTTP_HOST).
	Host() []byte
	// Query returns the decoded value of a query parameter: $(QUERY_STRING{name}).
	Query(name []byte) []byte
	// QueryString returns the raw query string without '?': $(QUERY_STRING).
	QueryString() []byte
	// UserAgent returns the User-Agent header: $(HTTP_USER_AGENT).
	UserAgent() []byte
	// AcceptLanguage returns the Accept-Language header: $(HTTP_ACCEPT_LANGUAGE).
	AcceptLanguage() []byte
	// Referer returns the Referer header: $(HTTP_REFERER).
	Referer() []byte
	// Cookies returns the whole Cookie header: $(HTTP_COOKIE).
	Cookies() []byte
}

// noVars is used when Assemble gets nil Vars: every variable is empty.
type noVars struct{}

func (noVars) Cookie([]byte) []byte   { return nil }
func (noVars) Host() []byte           { return nil }
func (noVars) Query([]byte) []byte    { return nil }
func (noVars) QueryString() []byte    { return nil }
func (noVars) UserAgent() []byte      { return nil }
func (noVars) AcceptLanguage() []byte { return nil }
func (noVars) Referer() []byte        { return nil }
func (noVars) Cookies() []byte        { return nil }

// varName identifies one ESI variable.
type varName uint8

const (
	varUnknown varName = iota // evaluates to empty (its default, if any)
	varCookie
	varHost
	varQuery
	varUserAgent
	varAcceptLanguage
	varReferer
)

// varNames maps the spec's variable names to ours.
var varNames = map[string]varName{
	"HTTP_COOKIE":          varCookie,
	"HTTP_HOST":            varHost,
	"QUERY_STRING":         varQuery,
	"HTTP_USER_AGENT":      varUserAgent,
	"HTTP_ACCEPT_LANGUAGE": varAcceptLanguage,
	"HTTP_REFERER":         varReferer,
}

// varRef is one parsed $(NAME{key}|default) reference.
type varRef struct {
	name   varName
	hasKey bool
	key    []byte
	hasDef bool
	def    []byte
}

var (
	strTrue  = []byte("true")
	strFalse = []byte("false")
)

// value returns the variable's raw value, or its default when the value is
// empty. The result aliases memory owned by v or the template.
func (r *varRef) value(v Vars) []byte {
	var b []byte
	switch r.name {
	case varCookie:
		if r.hasKey {
			b = v.Cookie(r.key)
		} else {
			b = v.Cookies()
		}
	case varHost:
		b = v.Host()
	case varQuery:
		if r.hasKey {
			b = v.Query(r.key)
		} else {
			b = v.QueryString()
		}
	case varUserAgent:
		b = v.UserAgent()
		if r.hasKey {
			b = userAgentPart(b, r.key)
		}
	case varAcceptLanguage:
		b = v.AcceptLanguage()
		if r.hasKey {
			if acceptsLanguage(b, r.key) {
				b = strTrue
			} else {
				b = strFalse
			}
		}
	case varReferer:
		b = v.Referer()
	}
	if len(b) == 0 && r.hasDef {
		return r.def
	}
	return b
}

// part is one piece of an interpolated string: literal bytes or a variable.
type part struct {
	lit []byte
	ref *varRef
}

// escapeMode says how variable values are escaped where they land.
type escapeMode uint8

const (
	escapeHTML escapeMode = iota // in esi:vars bodies
	escapeURL                    // in include src/alt
)

// appendParts appends the interpolated string to dst, escaping variable
// values (defaults included) for mode; literal parts are copied as they are.
func appendParts(dst []byte, parts []part, v Vars, mode escapeMode) []byte {
	for i := range parts {
		p := &parts[i]
		if p.ref == nil {
			dst = append(dst, p.lit...)
			continue
		}
		val := p.ref.value(v)
		switch {
		case mode == escapeHTML:
			dst = appendHTMLEscaped(dst, val)
		case p.ref.name == varQuery && !p.ref.hasKey:
			dst = appendQueryEscaped(dst, val)
		default:
			dst = appendComponentEscaped(dst, val)
		}
	}
	return dst
}

// maxVarLen bounds one $(...) reference; longer is not a reference.
const maxVarLen = 1024

// parseVarRef parses the reference at the start of b, which begins with
// "$(". It returns the reference and its length in bytes; n is 0 when b does
// not hold a well-formed reference. known is false for a well-formed
// reference to a variable ESI does not define (it evaluates to empty).
func parseVarRef(b []byte) (ref *varRef, n int, known bool) {
	if len(b) > maxVarLen {
		b = b[:maxVarLen]
	}
	if len(b) < 4 || b[0] != '$' || b[1] != '(' {
		return nil, 0, false
	}
	i := 2
	for i < len(b) && ('A' <= b[i] && b[i] <= 'Z' || '0' <= b[i] && b[i] <= '9' || b[i] == '_') {
		i++
	}
	if i == 2 {
		return nil, 0, false
	}
	r := &varRef{name: varNames[string(b[2:i])]}
	if i < len(b) && b[i] == '{' {
		end := bytes.IndexByte(b[i+1:], '}')
		if end < 0 {
			return nil, 0, false
		}
		key := b[i+1 : i+1+end]
		if bytes.IndexByte(key, ')') >= 0 {
			return nil, 0, false
		}
		if len(key) >= 2 && key[0] == '\'' && key[len(key)-1] == '\'' {
			key = key[1 : len(key)-1]
		}
		r.hasKey, r.key = true, key
		i += end + 2
	}
	if i < len(b) && b[i] == '|' {
		i++
		if i < len(b) && b[i] == '\'' {
			end := bytes.IndexByte(b[i+1:], '\'')
			if end < 0 {
				return nil, 0, false
			}
			r.def = b[i+1 : i+1+end]
			i += end + 2
		} else {
			end := bytes.IndexByte(b[i:], ')')
			if end < 0 {
				return nil, 0, false
			}
			r.def = b[i : i+end]
			i += end
		}
		r.hasDef = true
	}
	if i >= len(b) || b[i] != ')' {
		return nil, 0, false
	}
	return r, i + 1, r.name != varUnknown
}

// compileParts splits s into literal and variable parts. Text that only
// looks like a reference ("$(" not followed by a valid one) stays literal.
// unknown counts references to variables ESI does not define. The parts
// alias s, which must be owned by the template.
func compileParts(s []byte) (parts []part, unknown int) {
	lit := 0
	for i := 0; i < len(s); {
		k := bytes.Index(s[i:], []byte("$("))
		if k < 0 {
			break
		}
		i += k
		ref, n, known := parseVarRef(s[i:])
		if n == 0 {
			i += 2
			continue
		}
		if !known {
			unknown++
		}
		if i > lit {
			parts = append(parts, part{lit: s[lit:i]})
		}
		parts = append(parts, part{ref: ref})
		i += n
		lit = i
	}
	if parts == nil {
		return nil, unknown
	}
	if lit < len(s) {
		parts = append(parts, part{lit: s[lit:]})
	}
	return parts, unknown
}
