package quiz

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"strings"
	"testing"
	"time"

	"edge/filter"
	"edge/internal/config"

	"github.com/valyala/fasthttp"
)

// serve runs h on a request and returns the response.
func serve(h fasthttp.RequestHandler, method, uri string, hdr map[string]string, body []byte) *fasthttp.Response {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	for k, v := range hdr {
		ctx.Request.Header.Set(k, v)
	}
	ctx.Request.SetBody(body)
	h(&ctx)
	resp := new(fasthttp.Response)
	ctx.Response.CopyTo(resp)
	return resp
}

func identify(t *testing.T) func(*fasthttp.RequestCtx, *filter.State) filter.Verdict {
	id, err := filter.NewIdentity(&config.Identity{Header: "X-User-Id"}, filter.IdentityRequired)
	if err != nil {
		t.Fatal(err)
	}
	return id.Handle
}

func TestIssueUnavailableUntilFirstBank(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newService(t, clk, nil, false)
	h := s.EdgeHandler(identify(t))
	user := map[string]string{"X-User-Id": "u1"}

	r := serve(h, "GET", "/_edge/quiz?item=42", user, nil)
	if r.StatusCode() != 503 || string(r.Body()) != `{"error":"quiz_unavailable"}` || string(r.Header.Peek("Retry-After")) != "2" {
		t.Fatalf("before the first bank: %d %s Retry-After %q", r.StatusCode(), r.Body(), r.Header.Peek("Retry-After"))
	}
	select {
	case <-s.Ready():
		t.Fatal("ready without a bank")
	default:
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s.Start(ctx)
	s.Start(ctx) // a second call does nothing
	select {
	case <-s.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("no bank after 30s")
	}
	if got := s.Bank().Len(); got != 12 {
		t.Fatalf("bank of %d questions, want the configured 12", got)
	}
	r = serve(h, "GET", "/_edge/quiz?item=42", user, nil)
	if r.StatusCode() != 200 || string(r.Header.Peek("Cache-Control")) != "no-store" {
		t.Fatalf("after the first bank: %d %s", r.StatusCode(), r.Body())
	}
	var is issued
	if err := json.Unmarshal(r.Body(), &is); err != nil {
		t.Fatal(err)
	}
	if len(is.Token) != TokenLen || !strings.HasPrefix(is.Image, ImagePrefix) || !strings.HasSuffix(is.Image, ".png") ||
		is.ExpiresIn != 120 || !is.ExpiresAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("issued %+v", is)
	}
}

func TestEdgeHandler(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newService(t, clk, nil, true)
	h := s.EdgeHandler(identify(t))
	user := map[string]string{"X-User-Id": "u1"}

	is := issueFor(t, s, "u1", "42")
	img := serve(h, "GET", is.Image, nil, nil)
	if img.StatusCode() != 200 || string(img.Header.ContentType()) != "image/png" ||
		string(img.Header.Peek("Cache-Control")) != imageCacheControl {
		t.Fatalf("image: %d %s %s", img.StatusCode(), img.Header.ContentType(), img.Header.Peek("Cache-Control"))
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(img.Body()))
	if err != nil || cfg.Width != ImageWidth || cfg.Height != ImageHeight {
		t.Fatalf("image does not decode as a %dx%d PNG: %v %+v", ImageWidth, ImageHeight, err, cfg)
	}
	// The image is the one of the token's question.
	p, _ := parseToken([]byte(is.Token))
	if !bytes.Equal(img.Body(), s.lookup(p.question).PNG) {
		t.Fatal("image is not the token's question")
	}

	cases := []struct {
		name, method, uri string
		hdr               map[string]string
		status            int
		body              string
	}{
		{"issue without shopper", "GET", "/_edge/quiz?item=42", nil, 401, `{"error":"identity_required"}`},
		{"issue without item", "GET", "/_edge/quiz", user, 400, `{"error":"item_invalid"}`},
		{"issue with a bad item", "GET", "/_edge/quiz?item=a%20b", user, 400, `{"error":"item_invalid"}`},
		{"issue by POST", "POST", "/_edge/quiz?item=42", user, 405, `{"error":"method_not_allowed"}`},
		{"unknown image", "GET", ImagePrefix + "0123456789abcdef.png", nil, 404, `{"error":"not_found"}`},
		{"image id not hex", "GET", ImagePrefix + "0123456789abcdeg.png", nil, 404, `{"error":"not_found"}`},
		{"image without .png", "GET", strings.TrimSuffix(is.Image, ".png"), nil, 404, `{"error":"not_found"}`},
		{"image by PUT", "PUT", is.Image, nil, 405, `{"error":"method_not_allowed"}`},
		{"other path", "GET", "/_edge/quizzes", nil, 404, `{"error":"not_found"}`},
	}
	for _, tc := range cases {
		r := serve(h, tc.method, tc.uri, tc.hdr, nil)
		if r.StatusCode() != tc.status || string(r.Body()) != tc.body {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.StatusCode(), r.Body(), tc.status, tc.body)
		}
	}
	if r := serve(h, "HEAD", is.Image, nil, nil); r.StatusCode() != 200 {
		t.Errorf("HEAD image: %d", r.StatusCode())
	}
}

func TestAdminBank(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newService(t, clk, nil, false)
	get, put := s.AdminBank()
	if r := serve(get, "GET", "/quiz/bank", nil, nil); r.StatusCode() != 503 {
		t.Fatalf("GET before a bank: %d", r.StatusCode())
	}
	for _, body := range []string{"", "{}", `{"version":2}`, "not json"} {
		if r := serve(put, "PUT", "/quiz/bank", nil, []byte(body)); r.StatusCode() != 400 || string(r.Body()) != `{"error":"invalid_bank"}` {
			t.Fatalf("PUT %q: %d %s", body, r.StatusCode(), r.Body())
		}
	}
	if s.Bank() != nil {
		t.Fatal("a refused PUT changed the bank")
	}

	// Export from one node, import on another.
	src := newService(t, clk, nil, true)
	srcGet, _ := src.AdminBank()
	exported := serve(srcGet, "GET", "/quiz/bank", nil, nil)
	if exported.StatusCode() != 200 || string(exported.Header.ContentType()) != "application/json" {
		t.Fatalf("GET: %d", exported.StatusCode())
	}
	clk.Add(time.Hour)
	r := serve(put, "PUT", "/quiz/bank", nil, exported.Body())
	want := `{"id":"` + mustBank(t).ID() + `","questions":12}`
	if r.StatusCode() != 200 || string(r.Body()) != want {
		t.Fatalf("PUT: %d %s, want %s", r.StatusCode(), r.Body(), want)
	}
	if s.Bank().ID() != mustBank(t).ID() || !s.Bank().Created().Equal(clk.Now()) {
		t.Fatalf("bank in use %s created %v", s.Bank().ID(), s.Bank().Created())
	}
	select {
	case <-s.Ready():
	default:
		t.Fatal("not ready after a PUT")
	}
	// A token issued by the source node checks on this one (same secret,
	// same bank).
	st := NewStage("order", quizCfg, s)
	is := issueFor(t, src, "u1", "42")
	clk.Add(2 * time.Second)
	if got := run(t, st, order{user: "u1", item: "42", token: is.Token, answer: answerOf(t, src, is.Token)}); got.verdict != filter.Continue {
		t.Fatalf("token across nodes with a pushed bank: %s", got.body)
	}
}
