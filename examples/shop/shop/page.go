package shop

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

//go:embed item.html
var itemHTML string

var itemPage = template.Must(template.New("item").Parse(itemHTML))

// pageData is what item.html renders.
type pageData struct {
	ID, Name, Blurb string
}

// sessionMaxAge is the lifetime of the session cookie the page hands out.
const sessionMaxAge = 30 * 24 * time.Hour

// handleItem serves the product page. The page is the same for every
// shopper (the personal parts are ESI fragments), so it is public and
// cacheable, with a strong ETag over its bytes. A shopper without a session
// cookie gets one.
func (s *Server) handleItem(w http.ResponseWriter, r *http.Request) {
	id, ok := s.knownItem(w, r)
	if !ok {
		return
	}
	p := productOf(id)
	var buf bytes.Buffer
	if err := itemPage.Execute(&buf, pageData{ID: id, Name: p.Name, Blurb: p.Blurb}); err != nil {
		s.log.Error("render item page", "item", id, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	sum := sha256.Sum256(buf.Bytes())
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`

	ensureSession(w, r)
	h := w.Header()
	h.Set("Cache-Control", "public, max-age="+seconds(s.opts.PageMaxAge))
	h.Set("ETag", etag)
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes())
}

// handleIndex lists the items on sale.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.dbContext(r)
	defer cancel()
	stock, err := s.store.Stock(ctx)
	if err != nil {
		s.log.Error("index", "err", err)
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	var b strings.Builder
	b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>` +
		`<style>body{font:16px/1.6 system-ui,sans-serif;max-width:640px;margin:40px auto;padding:0 16px;color:#1d2330}` +
		`a{color:#e8453c}li{margin:6px 0}</style></head><body><h1>On sale</h1><ul>`)
	for _, id := range sortedKeys(stock) {
		b.WriteString(`<li><a href="/item/` + html.EscapeString(url.PathEscape(id)) + `">` + html.EscapeString(productOf(id).Name) + `</a></li>`)
	}
	b.WriteString(`</ul></body></html>`)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age="+seconds(s.opts.PageMaxAge))
	_, _ = w.Write([]byte(b.String()))
}

// handleUserFragment is the greeting box: personal, so never stored.
func (s *Server) handleUserFragment(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "private, no-store")
	user := buyerOf(r)
	if user == "" {
		_, _ = w.Write([]byte(`<span class="user signin">Sign in</span>`))
		return
	}
	if len(user) > 32 {
		user = user[:32] + "..."
	}
	_, _ = w.Write([]byte(`<span class="user">Hello, ` + html.EscapeString(user) + `</span>`))
}

// handlePriceFragment shows the list and sale prices of an item.
func (s *Server) handlePriceFragment(w http.ResponseWriter, r *http.Request) {
	id, ok := s.knownItem(w, r)
	if !ok {
		return
	}
	p := productOf(id)
	s.fragment(w, `<span class="price"><s>`+formatPrice(p.ListPrice)+`</s><b>`+formatPrice(p.Price)+`</b></span>`)
}

// handleStockFragment shows the shop's own count of remaining units.
func (s *Server) handleStockFragment(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !validItemID(id) {
		notFound(w)
		return
	}
	ctx, cancel := s.dbContext(r)
	defer cancel()
	n, err := s.store.ItemStock(ctx, id)
	if !s.storeOK(w, id, err) {
		return
	}
	if n == 0 {
		s.fragment(w, `<span class="stock soldout" data-stock="0">Sold out</span>`)
		return
	}
	left := strconv.Itoa(n)
	s.fragment(w, `<span class="stock" data-stock="`+left+`">`+left+` left</span>`)
}

// fragment writes a public HTML fragment with the fragment max-age.
func (s *Server) fragment(w http.ResponseWriter, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "public, max-age="+seconds(s.opts.FragmentMaxAge))
	_, _ = w.Write([]byte(body))
}

// knownItem returns the {id} path value when the store sells it; otherwise
// it answers 404 (or 503 when the store fails) and returns false.
func (s *Server) knownItem(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if !validItemID(id) {
		notFound(w)
		return "", false
	}
	ctx, cancel := s.dbContext(r)
	defer cancel()
	_, err := s.store.ItemStock(ctx, id)
	return id, s.storeOK(w, id, err)
}

// storeOK answers 404 or 503 for a failed store lookup and reports whether
// err was nil.
func (s *Server) storeOK(w http.ResponseWriter, id string, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, errUnknownItem):
		notFound(w)
	default:
		s.log.Error("read item", "item", id, "err", err)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Retry-After", "1")
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
	}
	return false
}

func notFound(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "no such item", http.StatusNotFound)
}

// ensureSession hands out a random session cookie when the request has no
// usable one.
func ensureSession(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(sessionCookie); err == nil && ck.Value != "" {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    rand.Text(),
		Path:     "/",
		MaxAge:   int(sessionMaxAge / time.Second),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

// etagMatch reports whether an If-None-Match header names etag (weak
// comparison, as RFC 9110 asks for If-None-Match) or is "*".
func etagMatch(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}

// seconds renders d as whole seconds for max-age.
func seconds(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }
