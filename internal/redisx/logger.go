package redisx

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// RouteLogs sends the Redis client's own messages (failed dials, pool
// events) to log at debug level instead of stderr: Redis trouble is already
// reported once per transition by Health and counted by the stages, and a
// dead Redis must not flood the logs with one line per attempt. The Redis
// client's logger is process-wide.
func RouteLogs(log *slog.Logger) {
	redis.SetLogger(clientLogger{log})
}

type clientLogger struct{ log *slog.Logger }

func (l clientLogger) Printf(ctx context.Context, format string, v ...any) {
	if l.log.Enabled(ctx, slog.LevelDebug) {
		l.log.LogAttrs(ctx, slog.LevelDebug, "redis client", slog.String("msg", fmt.Sprintf(format, v...)))
	}
}
