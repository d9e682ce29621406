package testredis

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestSingleAndCluster(t *testing.T) {
	t.Parallel()
	s := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer rdb.Close()
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	if v, err := rdb.Get(ctx, "k").Result(); err != redis.Nil {
		t.Fatalf("after restart got %q, %v; want empty", v, err)
	}

	c := StartCluster(t, 3)
	// Starting the cluster may take longer than the first context allows.
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	defer cc.Close()
	for _, k := range []string{"a", "b", "c", "{item:42}:stock"} {
		if err := cc.Set(ctx, k, "1", 0).Err(); err != nil {
			t.Fatalf("cluster set %s: %v", k, err)
		}
	}
}
