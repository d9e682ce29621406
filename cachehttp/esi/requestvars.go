package esi

import (
	"bytes"

	"github.com/valyala/fasthttp"

	"edge/internal/httplist"
)

// RequestVars reads ESI variables from a fasthttp request without copying:
// every method returns a slice of the request's own buffers. Use it only
// while the request is alive (inside the handler, before Assemble returns);
// Assemble calls it from the calling goroutine only, as fasthttp requires.
//
// The value is pointer-sized, so passing it as Vars does not allocate.
type RequestVars struct {
	// Req is the shopper's request the page is assembled for.
	Req *fasthttp.Request
}

var _ Vars = RequestVars{}

// Cookie returns the named cookie's value.
func (v RequestVars) Cookie(name []byte) []byte { return v.Req.Header.CookieBytes(name) }

// Host returns the request's host (Host header or absolute URI host).
func (v RequestVars) Host() []byte { return v.Req.Host() }

// Query returns the decoded value of the first query parameter named name.
func (v RequestVars) Query(name []byte) []byte { return v.Req.URI().QueryArgs().PeekBytes(name) }

// QueryString returns the raw query string.
func (v RequestVars) QueryString() []byte { return v.Req.URI().QueryString() }

// UserAgent returns the User-Agent header.
func (v RequestVars) UserAgent() []byte { return v.Req.Header.UserAgent() }

// AcceptLanguage returns the Accept-Language header.
func (v RequestVars) AcceptLanguage() []byte { return v.Req.Header.Peek(fasthttp.HeaderAcceptLanguage) }

// Referer returns the Referer header.
func (v RequestVars) Referer() []byte { return v.Req.Header.Referer() }

// Cookies returns the whole Cookie header. It is zero-copy unless cookies
// were already parsed (by Cookie or elsewhere), when fasthttp rebuilds it.
func (v RequestVars) Cookies() []byte { return v.Req.Header.Peek(fasthttp.HeaderCookie) }

var (
	uaMSIE    = []byte("MSIE")
	uaMozilla = []byte("MOZILLA")
	uaOther   = []byte("OTHER")
	uaWin     = []byte("WIN")
	uaMac     = []byte("MAC")
	uaUnix    = []byte("UNIX")
)

// userAgentPart answers $(HTTP_USER_AGENT{browser|os|version}) as the ESI
// 1.0 specification defines them: browser is MSIE, MOZILLA or OTHER; os is
// WIN, MAC, UNIX or OTHER; version is the browser's version ("5.0"). Any
// other key yields empty.
func userAgentPart(ua, key []byte) []byte {
	switch string(key) {
	case "browser":
		switch {
		case bytes.Contains(ua, []byte("MSIE ")) || bytes.Contains(ua, []byte("Trident/")):
			return uaMSIE
		case bytes.HasPrefix(ua, []byte("Mozilla/")):
			return uaMozilla
		}
		return uaOther
	case "os":
		switch {
		case bytes.Contains(ua, []byte("Windows")) || bytes.Contains(ua, []byte("Win9")) ||
			bytes.Contains(ua, []byte("WinNT")):
			return uaWin
		case bytes.Contains(ua, []byte("Macintosh")) || bytes.Contains(ua, []byte("Mac OS")) ||
			bytes.Contains(ua, []byte("Mac_")):
			return uaMac
		case bytes.Contains(ua, []byte("X11")) || bytes.Contains(ua, []byte("Linux")) ||
			bytes.Contains(ua, []byte("BSD")) || bytes.Contains(ua, []byte("SunOS")) ||
			bytes.Contains(ua, []byte("Unix")):
			return uaUnix
		}
		return uaOther
	case "version":
		if i := bytes.Index(ua, []byte("MSIE ")); i >= 0 {
			return versionToken(ua[i+5:])
		}
		if bytes.Contains(ua, []byte("Trident/")) {
			if i := bytes.Index(ua, []byte("rv:")); i >= 0 {
				return versionToken(ua[i+3:])
			}
		}
		if i := bytes.IndexByte(ua, '/'); i >= 0 {
			return versionToken(ua[i+1:])
		}
	}
	return nil
}

// versionToken returns the leading run of b up to a space, ';' or ')'.
func versionToken(b []byte) []byte {
	for i, c := range b {
		if c == ' ' || c == ';' || c == ')' {
			return b[:i]
		}
	}
	return b
}

// acceptsLanguage reports whether the Accept-Language header names lang
// with a non-zero quality: "en" is accepted by "en", "en-US" or "EN-gb";
// "en-US" only by "en-US". The wildcard "*" names no language in particular
// and does not count.
func acceptsLanguage(header, lang []byte) bool {
	if len(lang) == 0 {
		return false
	}
	for len(header) > 0 {
		var tag, params []byte
		tag, params, header = httplist.Next(header)
		if len(tag) < len(lang) || !bytes.EqualFold(tag[:len(lang)], lang) {
			continue
		}
		if len(tag) > len(lang) && tag[len(lang)] != '-' {
			continue
		}
		if httplist.ZeroQ(params) {
			continue
		}
		return true
	}
	return false
}
