package quiz

import (
	"context"
	"encoding/json"
	"log/slog"
	"mime/multipart"
	"strings"
	"sync"
	"testing"
	"time"

	"edge/filter"
	"edge/internal/config"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"
)

var (
	secretA = strings.Repeat("a", 32)
	secretB = strings.Repeat("b", 32)
)

// t0 is the start of every test clock.
var t0 = time.Date(2026, 12, 12, 0, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testBank is a small deterministic bank shared by tests (banks are
// immutable).
var testBank = sync.OnceValues(func() (*Bank, error) {
	return Generate(context.Background(), 12, [32]byte{7}, t0)
})

func mustBank(t testing.TB) *Bank {
	t.Helper()
	b, err := testBank()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func bankCfg(secret, previous string) *config.QuizBank {
	return &config.QuizBank{Secret: secret, PreviousSecret: previous, Size: 12}
}

// newService returns a service on clk (memory store unless rdb is set)
// with the shared test bank in use when withBank.
func newService(t testing.TB, clk *clock, rdb redis.UniversalClient, withBank bool) *Service {
	t.Helper()
	s, err := NewService(bankCfg(secretA, ""), rdb, "test:", time.Second, NewMetrics(nil), quietLog(), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	seed := byte(0)
	s.seed = func() [32]byte { seed++; return [32]byte{seed, 0xee} }
	if withBank {
		s.install(mustBank(t), nil, true, sourceImported)
	}
	return s
}

// issued is a decoded answer of the issue endpoint.
type issued struct {
	Token     string    `json:"token"`
	Image     string    `json:"image"`
	ExpiresAt time.Time `json:"expires_at"`
	ExpiresIn int       `json:"expires_in"`
}

// issueFor asks the issue handler for a question; it fails the test unless
// the answer is 200.
func issueFor(t testing.TB, s *Service, user, item string) issued {
	t.Helper()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(fasthttp.MethodGet)
	s.IssueHandler(&ctx, []byte(user), []byte(item))
	if ctx.Response.StatusCode() != fasthttp.StatusOK {
		t.Fatalf("issue: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	var out issued
	if err := json.Unmarshal(ctx.Response.Body(), &out); err != nil {
		t.Fatalf("issue: %v: %s", err, ctx.Response.Body())
	}
	return out
}

// answerOf returns the right answer to a token's question.
func answerOf(t testing.TB, s *Service, tok string) string {
	t.Helper()
	p, ok := parseToken([]byte(tok))
	if !ok {
		t.Fatalf("token %q does not parse", tok)
	}
	q := s.lookup(p.question)
	if q == nil {
		t.Fatalf("question of %q not in the bank", tok)
	}
	return q.Answers[0]
}

// wrongAnswer returns an answer that is not right for tok.
func wrongAnswer(t testing.TB, s *Service, tok string) string {
	return answerOf(t, s, tok) + "0"
}

// order describes one request to an order route.
type order struct {
	user, item    string
	token, answer string
	form          string // "", "urlencoded" or "multipart"
}

// checked is what the stage did with an order.
type checked struct {
	verdict    filter.Verdict
	status     int
	body       string
	retryAfter string
	reason     string
	tokenHdr   string // X-Quiz-Token left on the request
}

// run sends o through the stage.
func run(t testing.TB, st *Stage, o order) checked {
	t.Helper()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(fasthttp.MethodPost)
	ctx.Request.SetRequestURI("/order?item=" + o.item)
	switch o.form {
	case "":
		if o.token != "" {
			ctx.Request.Header.Set(HeaderToken, o.token)
		}
		if o.answer != "" {
			ctx.Request.Header.Set(HeaderAnswer, o.answer)
		}
	case "urlencoded":
		ctx.Request.Header.SetContentType("application/x-www-form-urlencoded")
		var args fasthttp.Args
		args.Set(FieldToken, o.token)
		args.Set(FieldAnswer, o.answer)
		ctx.Request.SetBody(args.QueryString())
	case "multipart":
		var body strings.Builder
		w := multipart.NewWriter(&body)
		_ = w.WriteField(FieldToken, o.token)
		_ = w.WriteField(FieldAnswer, o.answer)
		_ = w.Close()
		ctx.Request.Header.SetContentType(w.FormDataContentType())
		ctx.Request.SetBodyString(body.String())
	}
	fs := filter.AcquireState()
	defer filter.ReleaseState(fs)
	fs.User = append(fs.User, o.user...)
	fs.Item = append(fs.Item, o.item...)
	v := st.Handle(&ctx, fs)
	return checked{
		verdict:    v,
		status:     ctx.Response.StatusCode(),
		body:       string(ctx.Response.Body()),
		retryAfter: string(ctx.Response.Header.Peek(fasthttp.HeaderRetryAfter)),
		reason:     fs.Reason,
		tokenHdr:   string(ctx.Request.Header.Peek(HeaderToken)),
	}
}

// quizCfg is the route config used by most tests.
var quizCfg = &config.Quiz{
	MinThink: config.Duration(time.Second),
	MaxAge:   config.Duration(2 * time.Minute),
	Attempts: 3,
}
