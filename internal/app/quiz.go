package app

import (
	"context"
	"fmt"

	"github.com/valyala/fasthttp"

	"edge/filter"
	"edge/filter/quiz"
	"edge/internal/config"
	"edge/internal/gateway"
)

// ensureQuiz makes the quiz service exist when cfg has a quiz bank (at start
// or on the first reload that adds one) and hands it the new settings. The
// service outlives reloads: its bank and replay memory must not reset.
func (a *App) ensureQuiz(ctx context.Context, cfg *config.Config) error {
	q := a.deps.Stages.Quiz
	switch {
	case cfg.QuizBank == nil:
		return nil
	case q != nil:
		if err := q.Reconfigure(cfg.QuizBank); err != nil {
			return fmt.Errorf("quiz_bank: %w", err)
		}
		return nil
	}
	prefix, timeout := "", cfg.Server.ReadTimeout.D()
	if cfg.Redis != nil {
		prefix, timeout = cfg.Redis.Prefix, cfg.Redis.Timeout.D()
	}
	q, err := quiz.NewService(cfg.QuizBank, a.rdb, prefix, timeout, a.quizMetrics, a.Log, nil)
	if err != nil {
		return fmt.Errorf("quiz_bank: %w", err)
	}
	q.Start(ctx)
	a.deps.Stages.Quiz = q
	return nil
}

// quizHandler answers /_edge/quiz and its images while a quiz bank is
// configured, 404 otherwise.
func (a *App) quizHandler(gw *gateway.Gateway) fasthttp.RequestHandler {
	var h fasthttp.RequestHandler
	return func(ctx *fasthttp.RequestCtx) {
		q := a.deps.Stages.Quiz
		if q == nil {
			filter.Reject(ctx, nil, "quiz", fasthttp.StatusNotFound, "not_found", 0)
			return
		}
		if h == nil {
			h = q.EdgeHandler(gw.Identify)
		}
		h(ctx)
	}
}

// quizBank answers GET|PUT /quiz/bank (export/import, answers included).
func (a *App) quizBank(put bool) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		q := a.deps.Stages.Quiz
		if q == nil {
			ctx.SetStatusCode(fasthttp.StatusNotFound)
			ctx.SetContentType("application/json")
			ctx.SetBodyString(`{"error":"no_quiz_bank"}`)
			return
		}
		get, set := q.AdminBank()
		if put {
			set(ctx)
			return
		}
		get(ctx)
	}
}
