package app

import (
	"context"
	"fmt"

	"github.com/valyala/fasthttp"

	"edge/filter"
	"edge/filter/quiz"
	"edge/internal/config"
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
	a.deps.Stages.Quiz = q // read by table builds, which reloads serialise
	get, put := q.AdminBank()
	a.quiz.Store(&quizLive{
		edge: q.EdgeHandler(func(ctx *fasthttp.RequestCtx, st *filter.State) filter.Verdict {
			return a.Gateway.Identify(ctx, st)
		}),
		get: get,
		put: put,
	})
	return nil
}

// quizLive are the quiz's request handlers, published once the service
// exists (at start, or on the first reload that configures a quiz bank).
type quizLive struct {
	edge, get, put fasthttp.RequestHandler
}

// quizHandler answers /_edge/quiz and its images while a quiz bank is
// configured, 404 otherwise.
func (a *App) quizHandler(ctx *fasthttp.RequestCtx) {
	q := a.quiz.Load()
	if q == nil {
		filter.Reject(ctx, nil, "quiz", fasthttp.StatusNotFound, "not_found", 0)
		return
	}
	q.edge(ctx)
}

// quizBank answers GET|PUT /quiz/bank (export/import, answers included).
func (a *App) quizBank(put bool) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		q := a.quiz.Load()
		switch {
		case q == nil:
			ctx.SetStatusCode(fasthttp.StatusNotFound)
			ctx.SetContentType("application/json")
			ctx.SetBodyString(`{"error":"no_quiz_bank"}`)
		case put:
			q.put(ctx)
		default:
			q.get(ctx)
		}
	}
}
