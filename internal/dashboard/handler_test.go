package dashboard

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/valyala/fasthttp"
)

func serve(h fasthttp.RequestHandler) *fasthttp.Response { return serveWith(h, "") }

func serveWith(h fasthttp.RequestHandler, ifNoneMatch string) *fasthttp.Response {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(fasthttp.MethodGet)
	if ifNoneMatch != "" {
		ctx.Request.Header.Set(fasthttp.HeaderIfNoneMatch, ifNoneMatch)
	}
	h(&ctx)
	resp := &fasthttp.Response{}
	ctx.Response.CopyTo(resp)
	return resp
}

func TestPageIsSelfContained(t *testing.T) {
	t.Parallel()
	_, page := New(prometheus.NewRegistry(), Sources{}, Options{}).Handlers()
	resp := serve(page)
	body := string(resp.Body())
	if resp.StatusCode() != 200 || !strings.HasPrefix(string(resp.Header.ContentType()), "text/html") {
		t.Fatalf("page: %d %s", resp.StatusCode(), resp.Header.ContentType())
	}
	if strings.Contains(body, "/*STYLE*/") || strings.Contains(body, "/*SCRIPT*/") {
		t.Fatal("style or script not inlined")
	}
	// Offline: no URL other than the SVG namespace, no external script,
	// style or image.
	urls := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s"'<>]*`).FindAllString(body, -1)
	for _, u := range urls {
		if u != "http://www.w3.org/2000/svg" {
			t.Errorf("page refers to %q", u)
		}
	}
	for _, bad := range []string{"<script src", "<link rel=\"stylesheet\"", "@import", "<img"} {
		if strings.Contains(body, bad) {
			t.Errorf("page has %q", bad)
		}
	}
	// The policy allows exactly the inlined script and style.
	csp := string(resp.Header.Peek("Content-Security-Policy"))
	for _, part := range []struct{ tag, directive string }{{"script", "script-src"}, {"style", "style-src"}} {
		m := regexp.MustCompile(`(?s)<` + part.tag + `>(.*?)</` + part.tag + `>`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no inline %s", part.tag)
		}
		sum := sha256.Sum256([]byte(m[1]))
		want := part.directive + " 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	for _, want := range []string{"default-src 'none'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
}

func TestStatsServesTheLatestSample(t *testing.T) {
	t.Parallel()
	n := newFakeNode(t)
	clk := newClock()
	c := New(n.reg, Sources{}, Options{Now: clk.now})
	stats, _ := c.Handlers()

	// Before any sample, the first request takes one.
	first := serve(stats)
	if first.StatusCode() != 200 || string(first.Header.ContentType()) != "application/json" {
		t.Fatalf("stats: %d %s", first.StatusCode(), first.Header.ContentType())
	}
	var st Stats
	if err := json.Unmarshal(first.Body(), &st); err != nil || st.Seq != 1 {
		t.Fatalf("stats: %v seq %d", err, st.Seq)
	}
	// Within one interval every viewer gets the same bytes, or 304 when
	// it has them.
	n.requests.WithLabelValues("item", "2xx").Add(5)
	if again := serve(stats); string(again.Body()) != string(first.Body()) {
		t.Error("stats changed without a sample")
	}
	etag := string(first.Header.Peek("ETag"))
	if same := serveWith(stats, etag); same.StatusCode() != 304 || len(same.Body()) != 0 || etag == "" {
		t.Errorf("If-None-Match %s: %d with %d bytes", etag, same.StatusCode(), len(same.Body()))
	}
	clk.advance(DefaultInterval)
	if err := c.Sample(); err != nil {
		t.Fatal(err)
	}
	newer := serveWith(stats, etag)
	if err := json.Unmarshal(newer.Body(), &st); err != nil || newer.StatusCode() != 200 || st.Seq != 2 || st.Requests.Total != 5 || st.Requests.Rate != 5 {
		t.Errorf("after a sample: %d %v %+v", newer.StatusCode(), err, st.Requests)
	}
	for _, field := range []string{`"funnel":[`, `"history":{`, `"hit_ratio":null`, `"sales":[]`, `"upstreams":[]`} {
		if !strings.Contains(string(serve(stats).Body()), field) {
			t.Errorf("stats lack %s", field)
		}
	}
}

func BenchmarkSample(b *testing.B) {
	n := newFakeNode(b)
	// The node's registry also has the runtime collectors: Gather reads them.
	n.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, r := range []string{"item", "order", "frag", "static"} {
		for _, code := range []string{"2xx", "4xx", "5xx"} {
			n.requests.WithLabelValues(r, code).Inc()
		}
		for _, res := range []string{"hit", "miss", "stale", "pass", "coalesced", "revalidated"} {
			n.cache.WithLabelValues(r, res).Inc()
		}
		n.duration.WithLabelValues(r).Observe(0.002)
	}
	c := New(n.reg, Sources{}, Options{})
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Sample(); err != nil {
			b.Fatal(err)
		}
	}
}
