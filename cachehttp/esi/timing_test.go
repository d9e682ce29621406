package esi

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"edge/internal/config"
)

// Three 20 ms fragments take 20 ms, not 60: they are fetched in parallel.
func TestAssembleParallel(t *testing.T) {
	t.Parallel()
	pages := map[string]testFrag{
		"/a": {body: "A", delay: 20 * time.Millisecond},
		"/b": {body: "B", delay: 20 * time.Millisecond},
		"/c": {body: "C", delay: 20 * time.Millisecond},
	}
	body := `<esi:include src="/a"/><esi:include src="/b"/><esi:include src="/c"/>`
	for _, tc := range []struct {
		conc int
		want time.Duration
	}{
		{0, 20 * time.Millisecond},
		{3, 20 * time.Millisecond},
		{2, 40 * time.Millisecond},
		{1, 60 * time.Millisecond},
	} {
		synctest.Test(t, func(t *testing.T) {
			f := newFetcher(pages)
			start := time.Now()
			out, st, err := assemble(t, body, f, nil, Options{Concurrency: tc.conc})
			if took := time.Since(start); took != tc.want {
				t.Errorf("concurrency %d: took %v, want %v", tc.conc, took, tc.want)
			}
			if out != "ABC" || err != nil || st.OK != 3 {
				t.Errorf("concurrency %d: %q %+v %v", tc.conc, out, st, err)
			}
			f.checkReleased(t)
		})
	}
}

// Never more than Concurrency fetches at once, all levels together.
func TestAssembleConcurrencyBound(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nested := mustParse(t, strings.Repeat(`<esi:include src="/leaf"/>`, 4))
		f := newFetcher(map[string]testFrag{
			"/leaf": {body: "l", delay: 10 * time.Millisecond},
			"/box":  {tpl: nested, delay: 10 * time.Millisecond},
		})
		body := strings.Repeat(`<esi:include src="/leaf"/>`, 12) + `<esi:include src="/box"/>`
		start := time.Now()
		out, st, err := assemble(t, body, f, nil, Options{Concurrency: 4})
		if err != nil || out != strings.Repeat("l", 16) || st.OK != 17 {
			t.Fatalf("%q %+v %v", out, st, err)
		}
		if m := f.max.Load(); m != 4 {
			t.Errorf("max in flight %d, want 4", m)
		}
		// 13 first-level fetches in 4 waves, then the box's 4 leaves.
		if took := time.Since(start); took != 50*time.Millisecond {
			t.Errorf("took %v", took)
		}
		f.checkReleased(t)
	})
}

// A fragment's own includes start as soon as it arrives, while earlier
// fragments are still being fetched.
func TestAssembleNestedStartsEarly(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		box := mustParse(t, `(<esi:include src="/leaf"/>)`)
		f := newFetcher(map[string]testFrag{
			"/slow": {body: "S", delay: 50 * time.Millisecond},
			"/box":  {tpl: box, delay: 10 * time.Millisecond},
			"/leaf": {body: "L", delay: 30 * time.Millisecond},
		})
		start := time.Now()
		out, _, err := assemble(t, `<esi:include src="/slow"/><esi:include src="/box"/>`, f, nil, Options{})
		if took := time.Since(start); took != 50*time.Millisecond {
			t.Errorf("took %v, want 50ms (leaf fetched while slow runs)", took)
		}
		if out != "S(L)" || err != nil {
			t.Errorf("%q %v", out, err)
		}
	})
}

// Fetches still running at the page deadline count as timeouts and follow
// the failure rules; Assemble answers at the deadline.
func TestAssembleDeadline(t *testing.T) {
	t.Parallel()
	pages := map[string]testFrag{
		"/fast": {body: "F", delay: 10 * time.Millisecond},
		"/slow": {body: "S", delay: time.Second},
		"/alt":  {body: "ALT"},
	}
	for _, tc := range []struct {
		name, body, want string
		opt              Options
		stats            Stats
		err              error
	}{
		{"drop", `a<esi:include src="/fast"/><esi:include src="/slow"/>b`, "aFb", Options{Timeout: 100 * time.Millisecond},
			Stats{Fragments: 2, OK: 1, Timeout: 1, Dropped: 1}, nil},
		{"no alt after deadline", `<esi:include src="/slow" alt="/alt"/>`, "", Options{Timeout: 100 * time.Millisecond},
			Stats{Fragments: 1, Timeout: 1, Dropped: 1}, nil},
		{"except", `<esi:try><esi:attempt><esi:include src="/slow"/></esi:attempt><esi:except>E<esi:include src="/fast"/></esi:except></esi:try>`, "E",
			Options{Timeout: 100 * time.Millisecond}, Stats{Fragments: 2, Timeout: 2, Dropped: 1}, nil},
		{"fail", `<esi:include src="/fast"/><esi:include src="/slow"/>`, "", Options{Timeout: 100 * time.Millisecond, OnError: OnErrorFail},
			Stats{Fragments: 2, OK: 1, Timeout: 1}, ErrTimeout},
		{"single inline", `<esi:include src="/slow"/>`, "", Options{Timeout: 100 * time.Millisecond},
			Stats{Fragments: 1, Timeout: 1, Dropped: 1}, nil},
		{"sequential", `<esi:include src="/fast"/><esi:include src="/slow"/><esi:include src="/fast"/>`, "F", Options{Timeout: 100 * time.Millisecond, Concurrency: 1},
			Stats{Fragments: 3, OK: 1, Timeout: 2, Dropped: 2}, nil},
	} {
		synctest.Test(t, func(t *testing.T) {
			f := newFetcher(pages)
			start := time.Now()
			out, st, err := assemble(t, tc.body, f, nil, tc.opt)
			if took := time.Since(start); took != tc.opt.Timeout {
				t.Errorf("%s: took %v", tc.name, took)
			}
			if out != tc.want || st != tc.stats {
				t.Errorf("%s: %q %+v, want %q %+v", tc.name, out, st, tc.want, tc.stats)
			}
			if (tc.err == nil) != (err == nil) || (tc.err != nil && !errorsIs(err, tc.err)) {
				t.Errorf("%s: err %v, want %v", tc.name, err, tc.err)
			}
			f.checkReleased(t)
		})
	}
}

// A caller's earlier deadline (or cancellation) applies too.
func TestAssembleParentContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFetcher(map[string]testFrag{"/slow": {body: "S", delay: time.Second}})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		tpl := mustParse(t, `<esi:include src="/slow"/><esi:include src="/slow"/>`)
		start := time.Now()
		_, st, _ := tpl.Assemble(ctx, nil, testPage, nil, f, Options{Timeout: time.Second})
		if took := time.Since(start); took != 30*time.Millisecond || st.Timeout != 2 {
			t.Errorf("took %v, %+v", took, st)
		}
	})
}

// Fragments that arrive after the deadline are not used but still
// released, and Assemble waits for the fetches it started, even from a
// Fetcher that ignores ctx (inline or in goroutines).
func TestAssembleLateRelease(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2} {
		synctest.Test(t, func(t *testing.T) {
			f := &slowIgnoringFetcher{release: make(chan struct{})}
			tpl := mustParse(t, strings.Repeat(`<esi:include src="/a"/>`, n))
			done := make(chan struct{})
			go func() {
				defer close(done)
				out, st, _ := tpl.Assemble(context.Background(), nil, testPage, nil, f, Options{Timeout: 10 * time.Millisecond})
				if len(out) != 0 || st.Timeout != n {
					t.Errorf("%d includes: %q %+v", n, out, st)
				}
			}()
			time.Sleep(50 * time.Millisecond)
			synctest.Wait()
			select {
			case <-done:
				t.Fatal("Assemble returned while fetches were still running")
			default:
			}
			close(f.release)
			<-done
			if got := f.released.Load(); got != int64(n) {
				t.Errorf("released %d late fragments, want %d", got, n)
			}
		})
	}
}

// slowIgnoringFetcher ignores ctx and answers when release is closed.
type slowIgnoringFetcher struct {
	release  chan struct{}
	released atomicInt
}

func (f *slowIgnoringFetcher) Fetch(ctx context.Context, url []byte, depth int) (Fragment, error) {
	<-f.release
	return Fragment{Status: 200, Body: []byte("late"), Release: func() { f.released.Add(1) }}, nil
}

func TestOptionsFromConfig(t *testing.T) {
	t.Parallel()
	c := &config.ESI{MaxDepth: 2, Timeout: config.Duration(300 * time.Millisecond), MaxIncludes: 10, Concurrency: 4,
		OnError: "fail", AllowedHosts: []string{"cdn.example"}}
	o := OptionsFromConfig(c)
	if o.MaxDepth != 2 || o.Timeout != 300*time.Millisecond || o.MaxIncludes != 10 || o.Concurrency != 4 ||
		o.OnError != OnErrorFail || len(o.AllowedHosts) != 1 {
		t.Errorf("%+v", o)
	}
}
