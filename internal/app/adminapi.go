package app

import (
	"encoding/json"

	"github.com/valyala/fasthttp"
	"go.yaml.in/yaml/v3"

	"edge/cachehttp"
	"edge/filter/stock"
	"edge/internal/admin"
)

// registerAdmin adds the node's admin endpoints.
func (a *App) registerAdmin() {
	a.Admin.Handle("GET", "/healthz", admin.Open, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("ok\n")
	})
	a.Admin.Handle("GET", "/readyz", admin.Open, a.readyz)
	a.Admin.Handle("GET", "/config", admin.Read, a.configz)
	a.Admin.Handle("POST", "/purge", admin.Write, a.purge)
	a.registerPprof()
	list, item, release := stock.AdminHandlers(a.ledger)
	a.Admin.Handle("GET", "/stock", admin.Read, list)
	a.Admin.HandlePrefix("GET", "/stock/", admin.Read, item)
	a.Admin.HandlePrefix("PUT", "/stock/", admin.Write, item)
	a.Admin.HandlePrefix("POST", "/stock/", admin.Write, release)
	a.Admin.Handle("GET", "/hot", admin.Read, a.deps.Hot.Handler())
	// The bank export holds every answer: reading it needs the token too.
	a.Admin.Handle("GET", "/quiz/bank", admin.Write, a.quizBank(false))
	a.Admin.Handle("PUT", "/quiz/bank", admin.Write, a.quizBank(true))
}

// readyz is 200 while the node should get traffic: config loaded, not
// draining, every upstream with a server taking traffic.
func (a *App) readyz(ctx *fasthttp.RequestCtx) {
	reason := ""
	switch {
	case a.draining.Load():
		reason = "draining"
	default:
		if err := a.Gateway.Ready(); err != nil {
			reason = err.Error()
		}
	}
	ctx.SetContentType("application/json")
	if reason != "" {
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
		writeJSON(ctx, map[string]string{"status": "not_ready", "reason": reason})
		return
	}
	writeJSON(ctx, map[string]string{"status": "ready"})
}

// configz shows the configuration in effect, secrets redacted, as YAML.
func (a *App) configz(ctx *fasthttp.RequestCtx) {
	out, err := yaml.Marshal(a.Gateway.Config().Redacted())
	if err != nil {
		admin.JSONError(ctx, fasthttp.StatusInternalServerError, "internal")
		return
	}
	ctx.SetContentType("application/yaml; charset=utf-8")
	ctx.SetBody(out)
}

// purge removes cached entries by url=, prefix= or tag= (query or form),
// soft=1 marks them stale instead. Answers {"purged": N}.
func (a *App) purge(ctx *fasthttp.RequestCtx) {
	arg := func(k string) string {
		if v := ctx.QueryArgs().Peek(k); len(v) > 0 {
			return string(v)
		}
		return string(ctx.PostArgs().Peek(k))
	}
	req := cachehttp.PurgeRequest{URL: arg("url"), Prefix: arg("prefix"), Tag: arg("tag")}
	soft := arg("soft")
	req.Soft = soft == "1" || soft == "true"
	n := 0
	for _, s := range []string{req.URL, req.Prefix, req.Tag} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		admin.JSONError(ctx, fasthttp.StatusBadRequest, "want_one_of_url_prefix_tag")
		return
	}
	purged := a.Cache.Purge(req)
	writeJSON(ctx, map[string]int{"purged": purged})
}

func writeJSON(ctx *fasthttp.RequestCtx, v any) {
	ctx.SetContentType("application/json")
	b, _ := json.Marshal(v)
	ctx.SetBody(append(b, '\n'))
}
