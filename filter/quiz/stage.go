package quiz

import (
	"bytes"
	"context"
	"time"

	"edge/filter"
	"edge/internal/config"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// Where an order carries its quiz answer: headers first, then form fields
// of an application/x-www-form-urlencoded or multipart/form-data body.
const (
	HeaderToken  = "X-Quiz-Token"
	HeaderAnswer = "X-Quiz-Answer"
	FieldToken   = "quiz_token"
	FieldAnswer  = "quiz_answer"
)

// Stage is the funnel stage "quiz" of an order route: the request must
// carry a token from GET /_edge/quiz, issued to this shopper (st.User) for
// this item (st.Item), and the right answer to its question. Refusals, all
// JSON with Cache-Control: no-store:
//
//	403 quiz_required  no token or no answer
//	403 quiz_invalid   malformed or forged token, another shopper's or item's
//	                   token, a question no longer in the bank, a wrong answer
//	403 quiz_too_fast  answered sooner than min_think after issue (Retry-After:
//	                   the rest of it); the token stays good
//	403 quiz_expired   token older than max_age
//	403 quiz_replayed  token already used by a right answer (each is good once)
//	403 quiz_attempts  the shopper gave `attempts` wrong answers for this item
//	                   within max_age (a fixed window from the first failure)
//	503 unavailable    Redis failed (Retry-After 1): the check fails closed, so
//	                   a bot gains nothing from a Redis outage
//
// Answers compare leniently: surrounding spaces and letter case are
// ignored. A passing request goes on without the X-Quiz-* headers.
type Stage struct {
	route    string
	p        policy
	s        *Service
	counters [len(results)]prometheus.Counter
	reasons  [len(results)]string
}

var (
	_ filter.Stage  = (*Stage)(nil)
	_ filter.Closer = (*Stage)(nil)
)

// NewStage builds the quiz check of route from its config (zero fields take
// the defaults: min_think 1s, max_age 2m, attempts 3) against the shared
// service. The route's max_age is announced by the issue endpoint until
// Close (the shortest of all quiz routes).
func NewStage(route string, cfg *config.Quiz, s *Service) *Stage {
	var c config.Quiz
	if cfg != nil {
		c = *cfg
	}
	p := policy{minThink: c.MinThink.D(), maxAge: c.MaxAge.D(), attempts: c.Attempts}
	if p.minThink <= 0 {
		p.minThink = config.DefaultQuizMinThink
	}
	if p.maxAge <= 0 {
		p.maxAge = config.DefaultQuizMaxAge
	}
	if p.attempts <= 0 {
		p.attempts = config.DefaultQuizAttempts
	}
	st := &Stage{route: route, p: p, s: s}
	for i, r := range results {
		st.counters[i] = s.m.checks.WithLabelValues(route, r)
		st.reasons[i] = "quiz_" + r
	}
	st.reasons[resError] = "unavailable"
	s.register(st, false)
	return st
}

// Name returns "quiz".
func (st *Stage) Name() string { return "quiz" }

// Close stops announcing the route's max_age (a reload retired the route).
func (st *Stage) Close() error {
	st.s.register(st, true)
	return nil
}

// Handle checks the request's answer and token.
func (st *Stage) Handle(ctx *fasthttp.RequestCtx, fs *filter.State) filter.Verdict {
	tok, answer := readAnswer(ctx)
	res, wait, err := st.s.check(context.Background(), &st.p, fs.User, fs.Item, tok, answer)
	st.counters[res].Inc()
	switch res {
	case resOK:
		ctx.Request.Header.Del(HeaderToken)
		ctx.Request.Header.Del(HeaderAnswer)
		return filter.Continue
	case resError:
		st.s.logFailure("quiz: redis check failed; refusing", err)
		return filter.Reject(ctx, fs, st.Name(), fasthttp.StatusServiceUnavailable, st.reasons[res], time.Second)
	}
	return filter.Reject(ctx, fs, st.Name(), fasthttp.StatusForbidden, st.reasons[res], wait)
}

// readAnswer returns the token and answer of the request (headers first,
// then form fields).
func readAnswer(ctx *fasthttp.RequestCtx) (tok, answer []byte) {
	tok = ctx.Request.Header.Peek(HeaderToken)
	answer = ctx.Request.Header.Peek(HeaderAnswer)
	if len(tok) > 0 && len(answer) > 0 {
		return tok, answer
	}
	if len(tok) == 0 {
		tok = formValue(ctx, FieldToken)
	}
	if len(answer) == 0 {
		answer = formValue(ctx, FieldAnswer)
	}
	return tok, answer
}

// formValue returns a form field of a urlencoded or multipart body.
func formValue(ctx *fasthttp.RequestCtx, name string) []byte {
	if v := ctx.PostArgs().Peek(name); len(v) > 0 {
		return v
	}
	if !bytes.HasPrefix(ctx.Request.Header.ContentType(), []byte("multipart/form-data")) {
		return nil
	}
	f, err := ctx.MultipartForm()
	if err != nil || len(f.Value[name]) == 0 {
		return nil
	}
	return []byte(f.Value[name][0])
}
