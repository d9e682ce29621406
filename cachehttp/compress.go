package cachehttp

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	brrr "github.com/molecule-man/go-brrr"
	"github.com/valyala/fasthttp"
)

// Compression settings. Variants are made once per stored response, so
// levels are chosen for size more than speed, short of brotli's slowest
// levels (a 1 MB page would cost seconds at 11).
const (
	gzipLevel   = 6
	brotliLevel = 6
	// minCompressSize: smaller bodies are served as they are.
	minCompressSize = 256
)

var (
	strGzip   = []byte("gzip")
	strBrotli = []byte("br")
)

// compressible reports whether a Content-Type is worth compressing: text,
// and the structured formats of the web, not images or archives that are
// compressed already.
func compressible(ct []byte) bool {
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = bytes.ToLower(bytes.TrimSpace(ct))
	if bytes.HasPrefix(ct, []byte("text/")) ||
		bytes.HasSuffix(ct, []byte("+json")) || bytes.HasSuffix(ct, []byte("+xml")) {
		return true
	}
	switch string(ct) {
	case "application/json", "application/javascript", "application/x-javascript",
		"application/ecmascript", "application/xml", "application/wasm",
		"application/manifest+json", "image/svg+xml", "image/x-icon",
		"image/vnd.microsoft.icon", "font/ttf", "font/otf",
		"application/vnd.ms-fontobject":
		return true
	}
	return false
}

// compressVariants returns the gzip and brotli variants of body, each nil
// unless the type is compressible and the variant saves at least a tenth
// of the bytes.
func compressVariants(body, contentType []byte) (gz, br []byte) {
	if len(body) < minCompressSize || !compressible(contentType) {
		return
	}
	worth := func(z []byte) []byte {
		if len(z) > len(body)-len(body)/10 {
			return nil
		}
		return bytes.Clone(z)
	}
	return worth(fasthttp.AppendGzipBytesLevel(nil, body, gzipLevel)),
		worth(fasthttp.AppendBrotliBytesLevel(nil, body, brotliLevel))
}

// errEncoding is returned for a Content-Encoding the cache cannot undo.
var errEncoding = errors.New("cachehttp: unsupported content-encoding")

// errTooLarge is returned when a body (decoded) is over the entry limit.
var errTooLarge = errors.New("cachehttp: response too large to store")

// identityBody returns the body of resp without content coding, at most
// limit bytes. The cache asks origins for identity bodies; this handles
// those that compress anyway (gzip, br). The result may alias resp's body.
func identityBody(resp *fasthttp.Response, limit int64) ([]byte, error) {
	body := resp.Body()
	ce := bytes.TrimSpace(resp.Header.ContentEncoding())
	if len(ce) == 0 || bytes.EqualFold(ce, []byte("identity")) {
		if int64(len(body)) > limit {
			return nil, errTooLarge
		}
		return body, nil
	}
	var r io.Reader
	switch {
	case bytes.EqualFold(ce, strGzip), bytes.EqualFold(ce, []byte("x-gzip")):
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("cachehttp: gunzip origin body: %w", err)
		}
		r = zr
	case bytes.EqualFold(ce, strBrotli):
		r = brrr.NewReader(bytes.NewReader(body))
	default:
		return nil, errEncoding
	}
	out, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("cachehttp: decode %s origin body: %w", ce, err)
	}
	if int64(len(out)) > limit {
		return nil, errTooLarge
	}
	return out, nil
}
