package app

import (
	"bytes"
	"context"

	"edge/internal/config"
	"edge/internal/gateway"
	"edge/internal/hot"
)

// startHot runs hot-key detection for the node: URLs and items seen by the
// gateway, hot keys shared with other nodes through Redis when configured,
// and a URL's cache entry moved to the protected segment when it turns hot.
func (a *App) startHot(ctx context.Context, cfg *config.Config, deps *gateway.Deps) {
	m := hot.NewMetrics(a.Metrics.Registry)
	d := hot.New(cfg.Hot, m, nil)
	d.OnHot(func(kind hot.Kind, key string) {
		if kind != hot.URL {
			return
		}
		// Keys are host + request URI (see the gateway's urlKey).
		k := []byte(key)
		if i := bytes.IndexByte(k, '/'); i > 0 {
			a.Cache.PromoteURL(k[:i], k[i:])
		}
	})
	channel := ""
	if cfg.Redis != nil {
		channel = cfg.Redis.Prefix + "hot"
	}
	d.Start(ctx, a.rdb, channel, a.Log)
	deps.Hot, deps.HotMetrics = d, m
}
