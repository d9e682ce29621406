package quiz

import (
	"context"
	"strconv"
	"testing"
	"time"

	"edge/filter"

	"github.com/valyala/fasthttp"
)

// BenchmarkGenerate reports the cost of one question (drawing and PNG
// encoding) in a bank of 100; a bank of 1000 takes 1000 times this.
func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	const n = 100
	for b.Loop() {
		if _, err := Generate(context.Background(), n, [32]byte{1}, t0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/question")
}

// BenchmarkIssue measures GET /_edge/quiz: a random question, a signed
// token and the JSON answer.
func BenchmarkIssue(b *testing.B) {
	s := newService(b, newClock(), nil, true)
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(fasthttp.MethodGet)
	user, item := []byte("shopper-123456"), []byte("42")
	b.ReportAllocs()
	for b.Loop() {
		s.IssueHandler(&ctx, user, item)
		if ctx.Response.StatusCode() != fasthttp.StatusOK {
			b.Fatal(ctx.Response.StatusCode())
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "issues/s")
}

// BenchmarkCheck measures the quiz stage on an order with a right answer
// (parse, verify, answer compare, replay and attempts store in memory):
// each order is a different shopper's fresh token.
func BenchmarkCheck(b *testing.B) {
	clk := newClock()
	s := newService(b, clk, nil, true)
	st := NewStage("order", quizCfg, s)
	q := s.Bank().At(0)
	sg := s.signer.Load()
	users := make([][]byte, b.N)
	tokens := make([][]byte, b.N)
	for i := range b.N {
		users[i] = []byte("shopper-" + strconv.Itoa(i))
		tokens[i] = sg.appendToken(nil, q.ID, clk.Now().UnixMilli(), users[i], []byte("42"))
	}
	clk.Add(2 * time.Second)
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(fasthttp.MethodPost)
	ctx.Request.SetRequestURI("/order?item=42")
	fs := filter.AcquireState()
	fs.Item = append(fs.Item, "42"...)
	answer := []byte(q.Answers[0])
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ctx.Request.Header.SetBytesV(HeaderToken, tokens[i])
		ctx.Request.Header.SetBytesV(HeaderAnswer, answer)
		fs.User = append(fs.User[:0], users[i]...)
		if v := st.Handle(&ctx, fs); v != filter.Continue {
			b.Fatalf("order %d: %s", i, ctx.Response.Body())
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
}

// BenchmarkImage measures serving a question's image.
func BenchmarkImage(b *testing.B) {
	s := newService(b, newClock(), nil, true)
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(fasthttp.MethodGet)
	ctx.Request.SetRequestURI(ImagePrefix + formatID(s.Bank().At(3).ID) + ".png")
	b.ReportAllocs()
	for b.Loop() {
		s.ImageHandler(&ctx)
		if ctx.Response.StatusCode() != fasthttp.StatusOK {
			b.Fatal(ctx.Response.StatusCode())
		}
	}
}

// TestAllocs keeps issuing and image serving free of allocations, and a
// check within the few its store needs (the used token's key and entry).
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	clk := newClock()
	s := newService(t, clk, nil, true)
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(fasthttp.MethodGet)
	user, item := []byte("shopper-1"), []byte("42")
	if n := testing.AllocsPerRun(200, func() { s.IssueHandler(&ctx, user, item) }); n != 0 {
		t.Errorf("issue: %v allocations", n)
	}
	ctx.Request.SetRequestURI(ImagePrefix + formatID(s.Bank().At(0).ID) + ".png")
	if n := testing.AllocsPerRun(200, func() { s.ImageHandler(&ctx) }); n != 0 {
		t.Errorf("image: %v allocations", n)
	}
	// A refused check (here: too fast) does not allocate.
	st := NewStage("order", quizCfg, s)
	tok := s.signer.Load().appendToken(nil, s.Bank().At(0).ID, clk.Now().UnixMilli(), user, item)
	var order fasthttp.RequestCtx
	order.Request.Header.SetMethod(fasthttp.MethodPost)
	fs := filter.AcquireState()
	defer filter.ReleaseState(fs)
	fs.User, fs.Item = append(fs.User, user...), append(fs.Item, item...)
	if n := testing.AllocsPerRun(200, func() {
		order.Request.Header.SetBytesV(HeaderToken, tok)
		order.Request.Header.Set(HeaderAnswer, "1")
		st.Handle(&order, fs)
	}); n != 0 {
		t.Errorf("refused check: %v allocations", n)
	}
}
