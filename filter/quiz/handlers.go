package quiz

import (
	"bytes"
	"context"
	"strconv"
	"time"

	"edge/filter"

	"github.com/valyala/fasthttp"
)

// Public paths of the quiz on the edge listener.
const (
	// IssuePath answers GET /_edge/quiz?item=ID with a question.
	IssuePath = "/_edge/quiz"
	// ImagePrefix is followed by "<question id>.png".
	ImagePrefix = "/_edge/quiz/img/"
	// ItemParam is the query parameter naming the item on IssuePath.
	ItemParam = "item"
)

// imageCacheControl: an image id names one immutable image (ids are random
// per bank), so browsers and CDNs may keep it for a year.
const imageCacheControl = "public, max-age=31536000, immutable"

// unavailableRetry is the Retry-After of quiz_unavailable: the first bank
// takes a second or two to make.
const unavailableRetry = 2 * time.Second

// EdgeHandler returns the handler of the quiz's public endpoints, to be
// registered for IssuePath (it serves IssuePath and everything under
// ImagePrefix; other paths get 404 not_found). identify resolves the
// shopper the same way order routes do: it fills st.User and returns
// filter.Continue, or writes its refusal (401 identity_required) and returns
// another verdict; filter.Identity's Handle fits. The item is read from
// the query parameter ItemParam.
func (s *Service) EdgeHandler(identify func(ctx *fasthttp.RequestCtx, st *filter.State) filter.Verdict) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		path := ctx.Path()
		switch {
		case string(path) == IssuePath:
			if !allowGet(ctx) {
				return
			}
			st := filter.AcquireState()
			defer filter.ReleaseState(st)
			if identify(ctx, st) != filter.Continue {
				return
			}
			s.IssueHandler(ctx, st.User, ctx.QueryArgs().Peek(ItemParam))
		case bytes.HasPrefix(path, []byte(ImagePrefix)):
			s.ImageHandler(ctx)
		default:
			filter.Reject(ctx, nil, "quiz", fasthttp.StatusNotFound, "not_found", 0)
		}
	}
}

// IssueHandler answers GET /_edge/quiz for a shopper (user, already
// resolved) and item: a random question of the bank in use and a token
// bound to both,
//
//	{"token":"<50 chars>","image":"/_edge/quiz/img/<id>.png",
//	 "expires_at":"2026-12-12T00:02:00Z","expires_in":120}
//
// with Cache-Control: no-store. The order then carries the token and the
// answer (X-Quiz-Token/X-Quiz-Answer headers or quiz_token/quiz_answer
// form fields). expires_in (seconds) is the shortest max_age of the quiz
// routes (2m when none is registered). Refusals: 405 for methods other
// than GET/HEAD, 401 identity_required without a user, 400 item_invalid
// for a missing or malformed item, 503 quiz_unavailable (Retry-After 2)
// before the first bank exists.
func (s *Service) IssueHandler(ctx *fasthttp.RequestCtx, user, item []byte) {
	if !allowGet(ctx) {
		return
	}
	if len(user) == 0 || len(user) > filter.MaxUserIDLen {
		filter.Reject(ctx, nil, "quiz", fasthttp.StatusUnauthorized, "identity_required", 0)
		return
	}
	if !filter.ValidItemID(item) {
		filter.Reject(ctx, nil, "quiz", fasthttp.StatusBadRequest, "item_invalid", 0)
		return
	}
	now := s.now()
	var buf [320]byte
	b := append(buf[:0], `{"token":"`...)
	b, q := s.issue(b, user, item, now)
	if q == nil {
		filter.Reject(ctx, nil, "quiz", fasthttp.StatusServiceUnavailable, "quiz_unavailable", unavailableRetry)
		return
	}
	ttl := time.Duration(s.expiry.Load())
	b = append(b, `","image":"`...)
	b = append(b, ImagePrefix...)
	b = appendID(b, q.ID)
	b = append(b, `.png","expires_at":"`...)
	b = now.Add(ttl).UTC().AppendFormat(b, time.RFC3339)
	b = append(b, `","expires_in":`...)
	b = strconv.AppendInt(b, int64(ttl/time.Second), 10)
	b = append(b, '}')
	ctx.Response.Reset()
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	ctx.SetBody(b)
	s.m.issued.Inc()
}

// ImageHandler answers GET /_edge/quiz/img/{id}.png with the question's
// pre-rendered PNG (served without copying, Cache-Control: public,
// max-age=31536000, immutable). Images of the bank in use and of the one
// before it are served; other ids get 404 not_found, other methods 405.
func (s *Service) ImageHandler(ctx *fasthttp.RequestCtx) {
	if !allowGet(ctx) {
		return
	}
	name, ok := bytes.CutPrefix(ctx.Path(), []byte(ImagePrefix))
	if ok {
		name, ok = bytes.CutSuffix(name, []byte(".png"))
	}
	var q *Question
	if ok {
		if id, valid := parseIDBytes(name); valid {
			q = s.lookup(id)
		}
	}
	if q == nil {
		filter.Reject(ctx, nil, "quiz", fasthttp.StatusNotFound, "not_found", 0)
		return
	}
	ctx.Response.Reset()
	ctx.SetContentType("image/png")
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, imageCacheControl)
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	ctx.Response.SetBodyRaw(q.PNG)
}

// allowGet refuses methods other than GET and HEAD with 405.
func allowGet(ctx *fasthttp.RequestCtx) bool {
	if ctx.IsGet() || ctx.IsHead() {
		return true
	}
	filter.Reject(ctx, nil, "quiz", fasthttp.StatusMethodNotAllowed, "method_not_allowed", 0)
	ctx.Response.Header.Set(fasthttp.HeaderAllow, "GET, HEAD")
	return false
}

// AdminBank returns the admin endpoints of the bank, both to be registered
// behind the admin token (the export holds every answer):
//
//   - get: GET /quiz/bank → the bank in use as exported JSON (see
//     Bank.Export); 503 quiz_unavailable before the first bank.
//   - put: PUT /quiz/bank with an exported bank → validated (400
//     invalid_bank, the reason in the log), stored in Redis for every node
//     when Redis is configured (503 unavailable when Redis fails: nothing
//     changes), then put in use at once; the bank it replaces stays valid
//     for tokens already issued. Answers {"id":"<bank id>","questions":N}.
//
// The bank's created time becomes the time of the PUT, so that a scheduled
// regeneration (quiz_bank.regenerate) counts from when it was put in use.
func (s *Service) AdminBank() (get, put fasthttp.RequestHandler) {
	get = func(ctx *fasthttp.RequestCtx) {
		b := s.current()
		if b == nil {
			filter.Reject(ctx, nil, "quiz", fasthttp.StatusServiceUnavailable, "quiz_unavailable", unavailableRetry)
			return
		}
		data, err := b.Export()
		if err != nil {
			s.log.Error("quiz: export bank", "err", err)
			filter.Reject(ctx, nil, "quiz", fasthttp.StatusInternalServerError, "internal", 0)
			return
		}
		ctx.Response.Reset()
		ctx.SetContentType("application/json")
		ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
		ctx.SetBody(data)
	}
	put = func(ctx *fasthttp.RequestCtx) {
		b, err := Import(ctx.Request.Body())
		if err != nil {
			s.log.Warn("quiz: bank refused", "err", err)
			filter.Reject(ctx, nil, "quiz", fasthttp.StatusBadRequest, "invalid_bank", 0)
			return
		}
		b = b.withCreated(s.now())
		if s.rdb != nil {
			if _, err := publishBank(context.Background(), s.rdb, s.prefix, b, publishForce, ""); err != nil {
				s.log.Warn("quiz: cannot share the imported bank", "err", err)
				filter.Reject(ctx, nil, "quiz", fasthttp.StatusServiceUnavailable, "unavailable", time.Second)
				return
			}
		}
		s.install(b, nil, true, sourceImported)
		ctx.Response.Reset()
		ctx.SetContentType("application/json")
		ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
		ctx.SetBodyString(`{"id":"` + b.ID() + `","questions":` + strconv.Itoa(b.Len()) + `}`)
	}
	return get, put
}
