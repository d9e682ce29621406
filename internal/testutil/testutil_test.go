package testutil_test

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"edge/internal/testutil"
)

func TestFreeAddrCanBeBound(t *testing.T) {
	t.Parallel()
	addr := testutil.FreeAddr(t)
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("address %q is not loopback", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("binding the free address: %v", err)
	}
	_ = l.Close()
}

func TestServeOriginAnswers(t *testing.T) {
	t.Parallel()
	addr := testutil.ServeOrigin(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("origin") })
	code, body, err := fasthttp.GetTimeout(nil, "http://"+addr+"/", 2*time.Second)
	if err != nil || code != 200 || string(body) != "origin" {
		t.Fatalf("GET: %d %q %v", code, body, err)
	}
}

func TestWaitForReturnsOnceTheConditionHolds(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	go func() {
		for range 3 {
			n.Add(1)
		}
	}()
	testutil.WaitFor(t, 5*time.Second, "three increments", func() bool { return n.Load() == 3 })
}

func TestSyncBufferConcurrentWrites(t *testing.T) {
	t.Parallel()
	var b testutil.SyncBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				_, _ = b.Write([]byte("x"))
			}
		}()
	}
	wg.Wait()
	if got := len(b.String()); got != 800 {
		t.Fatalf("len = %d, want 800", got)
	}
}

func TestRefusedAddrRefuses(t *testing.T) {
	t.Parallel()
	c, err := net.DialTimeout("tcp", testutil.RefusedAddr, time.Second)
	if err == nil {
		c.Close()
		t.Fatalf("something listens on %s", testutil.RefusedAddr)
	}
}
