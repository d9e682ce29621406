package esi

import (
	"bytes"
	"context"
	"fmt"
)

// jobState is where one include's fetch is.
type jobState uint8

const (
	jobQueued  jobState = iota // planned, not started
	jobRunning                 // being fetched (inline or in a goroutine)
	jobDone                    // outcome known
)

// outcome is how an include ended.
type outcome uint8

const (
	outNone outcome = iota
	outOK
	outAlt
	outFail
	outTimeout
)

// failCause says why an include failed without a fetch result.
type failCause uint8

const (
	causeFetch failCause = iota // see job.err / job.status
	causeRefused
	causeDepth
	causeLimit
)

// job is one include of the assembly. Jobs are only touched by the
// goroutine running Assemble; fetch goroutines get copies of what they
// need and answer through the done channel.
type job struct {
	src, alt   []byte // resolved URLs; nil when refused or absent
	depth      int32
	cont       bool // onerror="continue"
	state      jobState
	out        outcome
	cause      failCause
	status     int
	err        error
	frag       Fragment
	hasSub     bool  // the fragment's template was planned
	subS, subE int32 // its ops
}

// result is a finished fetch.
type result struct {
	j      int32
	frag   Fragment
	ok     bool
	alt    bool
	err    error
	status int
}

// fetchOne fetches src, then alt if src failed and the deadline has not
// passed. It only uses its arguments, so it can run in any goroutine.
func fetchOne(ctx context.Context, f Fetcher, src, alt []byte, depth int) (r result) {
	defer func() {
		if p := recover(); p != nil {
			r = result{err: fmt.Errorf("%w: %v", ErrFetchPanic, p)}
		}
	}()
	if f == nil {
		return result{err: errNoFetcher}
	}
	if src != nil {
		frag, err := f.Fetch(ctx, src, depth)
		if err == nil && frag.Status >= 200 && frag.Status < 300 {
			return result{frag: frag, ok: true}
		}
		frag.release()
		r.err, r.status = err, frag.Status
	}
	if alt != nil && ctx.Err() == nil {
		frag, err := f.Fetch(ctx, alt, depth)
		if err == nil && frag.Status >= 200 && frag.Status < 300 {
			return result{frag: frag, ok: true, alt: true}
		}
		frag.release()
		if src == nil {
			r.err, r.status = err, frag.Status
		}
	}
	return r
}

func worker(ctx context.Context, f Fetcher, done chan<- result, j int32, src, alt []byte, depth int) {
	r := fetchOne(ctx, f, src, alt, depth)
	r.j = j
	done <- r
}

// finish records a job's outcome and counts it.
func (a *assembly) finish(j int32, out outcome) {
	jb := &a.jobs[j]
	jb.state, jb.out = jobDone, out
	a.stats.Fragments++
	switch out {
	case outOK:
		a.stats.OK++
	case outAlt:
		a.stats.Alt++
	case outTimeout:
		a.stats.Timeout++
	default:
		a.stats.Errors++
	}
}

func (a *assembly) fail(j int32, c failCause) {
	a.jobs[j].cause = c
	a.finish(j, outFail)
}

// await returns once job j has an outcome, starting queued fetches (up to
// Concurrency at once) and taking in finished ones meanwhile. When j is the
// only fetch to do (or Concurrency is 1) it is fetched inline, so a page
// with a single include starts no goroutine at all. Otherwise every fetch
// runs in a goroutine, which keeps this goroutine free to plan a nested
// fragment's includes the moment it arrives.
func (a *assembly) await(j int32) {
	limit := a.opt.Concurrency
	for a.jobs[j].state != jobDone {
		if a.ctx.Err() != nil {
			a.expire()
			return
		}
		if a.jobs[j].state == jobQueued && a.inflight == 0 && (limit == 1 || a.queued == 1) {
			a.runInline(j)
			continue
		}
		a.launchQueued(limit - a.inflight)
		if a.jobs[j].state == jobDone {
			continue // answered at once by an ImmediateFetcher
		}
		if a.inflight == 0 {
			a.fail(j, causeFetch) // unreachable: nothing could finish j
			return
		}
		a.receive()
	}
}

// launchQueued starts up to n queued jobs in goroutines, in document
// order. Jobs the Fetcher can answer at once (see ImmediateFetcher) are
// completed here instead, without a goroutine and without counting
// against n.
func (a *assembly) launchQueued(n int) {
	imm, _ := a.fetcher.(ImmediateFetcher)
	for n > 0 && a.qhead < len(a.queue) {
		k := a.queue[a.qhead]
		a.qhead++
		if a.jobs[k].state != jobQueued {
			continue
		}
		jb := &a.jobs[k]
		jb.state = jobRunning
		a.queued--
		if imm != nil && jb.src != nil && a.tryNow(imm, k) {
			continue
		}
		if a.done == nil {
			a.done = make(chan result, a.opt.Concurrency)
		}
		a.inflight++
		go worker(a.ctx, a.fetcher, a.done, k, jb.src, jb.alt, int(jb.depth))
		n--
	}
}

func (a *assembly) runInline(j int32) {
	jb := &a.jobs[j]
	jb.state = jobRunning
	a.queued--
	r := fetchOne(a.ctx, a.fetcher, jb.src, jb.alt, int(jb.depth))
	r.j = j
	a.complete(r)
}

// receive takes in one finished fetch, or expires the page at its deadline.
func (a *assembly) receive() {
	select {
	case r := <-a.done:
		a.inflight--
		a.complete(r)
	case <-a.ctx.Done():
		a.expire()
	}
}

// complete records a finished fetch. A fragment with its own template is
// planned at once, so its includes start while earlier ones still run.
func (a *assembly) complete(r result) {
	jb := &a.jobs[r.j]
	if jb.state == jobDone || a.draining {
		// Expired while in flight, or no longer needed once the page is
		// written: released, and (if not counted yet) left out of Stats.
		r.frag.release()
		jb.state = jobDone
		return
	}
	if a.ctx.Err() != nil { // what arrives after the deadline is not used
		r.frag.release()
		a.finish(r.j, outTimeout)
		return
	}
	if !r.ok {
		jb.err, jb.status = r.err, r.status
		a.finish(r.j, outFail)
		return
	}
	jb.frag = r.frag
	url := jb.src
	if r.alt {
		url = jb.alt
		a.finish(r.j, outAlt)
	} else {
		a.finish(r.j, outOK)
	}
	if t := r.frag.Template; t != nil {
		bi := a.addBase(baseOf(url, &a.bases[0]))
		s, e := a.plan(t.root, jb.depth, bi)
		jb = &a.jobs[r.j] // plan may have grown a.jobs
		jb.hasSub, jb.subS, jb.subE = true, s, e
	}
}

// expire gives every job without an outcome the timeout outcome. Fetches
// still in flight are waited for (and released) by drain.
func (a *assembly) expire() {
	for j := range a.jobs {
		if a.jobs[j].state != jobDone {
			a.finish(int32(j), outTimeout)
		}
	}
	a.queue, a.qhead, a.queued = a.queue[:0], 0, 0
}

// drain cancels what is still running and waits for every goroutine
// started, so nothing of this assembly outlives Assemble.
func (a *assembly) drain() {
	a.draining = true
	if a.cancel != nil {
		a.cancel()
	}
	for a.inflight > 0 {
		r := <-a.done
		a.inflight--
		a.complete(r)
	}
}

// failError describes why job j failed, for OnErrorFail.
func (a *assembly) failError(j int32) error {
	jb := &a.jobs[j]
	url := jb.src
	if url == nil {
		url = jb.alt
	}
	if i := bytes.IndexByte(url, '?'); i >= 0 {
		url = url[:i] // queries may carry cookie values: keep them out of logs
	}
	var cause error
	switch {
	case jb.out == outTimeout:
		cause = ErrTimeout
	case jb.cause == causeRefused:
		cause = ErrHostNotAllowed
	case jb.cause == causeDepth:
		cause = ErrDepthExceeded
	case jb.cause == causeLimit:
		cause = ErrTooManyIncludes
	case jb.err != nil:
		cause = jb.err
	default:
		cause = fmt.Errorf("%w %d", ErrFragmentStatus, jb.status)
	}
	return fmt.Errorf("%w: %q at depth %d: %w", ErrIncludeFailed, url, jb.depth, cause)
}

// tryNow completes job k from ImmediateFetcher.FetchNow when it has a 2xx
// answer at hand; it reports whether it did.
func (a *assembly) tryNow(imm ImmediateFetcher, k int32) (done bool) {
	jb := &a.jobs[k]
	defer func() {
		if p := recover(); p != nil {
			done = false // the goroutine fetch will try (and report) again
		}
	}()
	frag, ok := imm.FetchNow(jb.src, int(jb.depth))
	if !ok {
		return false
	}
	if frag.Status < 200 || frag.Status >= 300 {
		frag.release()
		return false
	}
	a.complete(result{j: k, frag: frag, ok: true})
	return true
}
