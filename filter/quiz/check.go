package quiz

import (
	"context"
	mrand "math/rand/v2"
	"time"
)

// result is the outcome of one check, an index into results.
type result uint8

const (
	resOK result = iota
	resRequired
	resInvalid
	resTooFast
	resExpired
	resReplayed
	resAttempts
	resError
)

// policy is a route's quiz settings.
type policy struct {
	minThink time.Duration
	maxAge   time.Duration
	attempts int
}

// check decides an answer to a token for a shopper and item. Order: both
// present (required), token well-formed and signed for this shopper and
// item, question known (invalid), age within [min_think, max_age]
// (too_fast, expired), then the store: no attempts left (attempts), a wrong
// answer counts a failure (invalid), a right answer uses the token (ok, or
// replayed when it was used already). Only wrong answers count as failed
// attempts; bad or foreign tokens do not (rate limits deal with those).
// wait is how long a too-fast shopper should wait. err is set with
// resError only (the store failed).
func (s *Service) check(ctx context.Context, p *policy, user, item, tok, answer []byte) (res result, wait time.Duration, err error) {
	if len(tok) == 0 || len(answer) == 0 {
		return resRequired, 0, nil
	}
	t, ok := parseToken(tok)
	if !ok || !s.signer.Load().verify(&t, user, item) {
		return resInvalid, 0, nil
	}
	q := s.lookup(t.question)
	if q == nil {
		return resInvalid, 0, nil
	}
	age := time.Duration(s.now().UnixMilli()-t.issued) * time.Millisecond
	switch {
	case age > p.maxAge:
		return resExpired, 0, nil
	case age < p.minThink:
		return resTooFast, p.minThink - age, nil
	}
	out, err := s.store.settle(ctx, user, item, t.question, t.issued, q.Correct(answer), p.attempts, p.maxAge)
	if err != nil {
		return resError, 0, err
	}
	switch out {
	case settledOK:
		return resOK, 0, nil
	case settledReplayed:
		return resReplayed, 0, nil
	case settledAttempts:
		return resAttempts, 0, nil
	default:
		return resInvalid, 0, nil
	}
}

// issue appends a token for a random question of the bank in use, bound to
// user and item and issued now, to dst. q is nil when there is no bank yet.
func (s *Service) issue(dst, user, item []byte, now time.Time) ([]byte, *Question) {
	set := s.banks.Load()
	if set == nil {
		return dst, nil
	}
	q := set.cur.At(mrand.IntN(set.cur.Len()))
	return s.signer.Load().appendToken(dst, q.ID, now.UnixMilli(), user, item), q
}
