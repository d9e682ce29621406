package esi

import (
	"context"
	"sync"
	"time"
)

// opKind is the kind of one planned output step.
type opKind uint8

const (
	opLit  opKind = iota // n.lit
	opText               // n.parts, HTML-escaped
	opJob                // fragment of job j
	opTry                // attempt ops follow up to end; n.alt is the except
)

// op is one output step of an assembly, in document order. Choose tests
// are decided when the ops are planned; includes have become jobs.
type op struct {
	kind  opKind
	n     *node
	j     int32 // opJob: job; opTry: index after the attempt's ops
	depth int32 // opTry: include depth of the template instance
	base  int32 // opTry: base of the template instance
}

// assembly is the per-page scratch, pooled.
type assembly struct {
	parent   context.Context
	ctx      context.Context // parent with the page deadline; nil until needed
	cancel   context.CancelFunc
	deadline time.Time
	vars     Vars
	fetcher  Fetcher
	opt      Options
	failMode bool
	res      resolver

	ops    []op
	jobs   []job
	queue  []int32 // jobs in planning order; qhead is the next to look at
	qhead  int
	queued int // jobs in state jobQueued
	bases  []base
	buf    []byte // resolved URLs; jobs and bases point into it
	tmp    []byte // an evaluated src before resolution

	done     chan result
	inflight int
	draining bool
	started  int
	stats    Stats
}

var assemblies = sync.Pool{New: func() any { return new(assembly) }}

// Assemble appends the page to dst: literal text as parsed, esi:vars text
// with variables HTML-escaped, choose branches picked by their tests, and
// every live include fetched through f and written in its place.
//
// Includes are fetched in parallel (Options.Concurrency at once), all of
// them as soon as the template is walked; a fragment that has its own
// Template is assembled in place, its includes starting as soon as it
// arrives, down to Options.MaxDepth. An include that fails (fetch error,
// non-2xx, refused host, depth or count limit, page deadline) tries its alt
// (not after the deadline), then is dropped when it says
// onerror="continue", then makes the enclosing esi:attempt give way to its
// esi:except, and otherwise follows Options.OnError.
//
// vars and page are read only by the calling goroutine, before Assemble
// returns; vars may be nil (every variable empty). Every fetch started is
// waited for, and every fragment released, before Assemble returns. Under
// OnErrorFail a failure returns dst unchanged and an error wrapping
// ErrIncludeFailed. Stats are filled in either way.
func (t *Template) Assemble(ctx context.Context, dst []byte, page URLInfo, vars Vars, f Fetcher, o Options) ([]byte, Stats, error) {
	if t == nil {
		return dst, Stats{}, nil
	}
	if vars == nil {
		vars = noVars{}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	a := assemblies.Get().(*assembly)
	a.parent, a.vars, a.fetcher = ctx, vars, f
	a.opt = o.normalized()
	a.failMode = a.opt.OnError == OnErrorFail
	a.deadline = time.Now().Add(a.opt.Timeout)
	a.res.allowed = a.opt.AllowedHosts
	a.res.page = pageBase(page)

	mark := len(dst)
	s, e := a.plan(t.root, 0, a.addBase(a.res.page))
	dst, failed := a.render(dst, s, e, false)
	a.drain()
	var err error
	if failed >= 0 {
		err = a.failError(failed)
		dst = dst[:mark]
	}
	stats := a.stats
	a.reset()
	assemblies.Put(a)
	return dst, stats, err
}

// reset releases every fragment and clears the scratch for reuse.
func (a *assembly) reset() {
	for j := range a.jobs {
		a.jobs[j].frag.release()
	}
	if a.cancel != nil {
		a.cancel()
	}
	clear(a.jobs)
	clear(a.ops)
	clear(a.bases)
	a.jobs, a.ops, a.bases = a.jobs[:0], a.ops[:0], a.bases[:0]
	a.queue, a.qhead, a.queued = a.queue[:0], 0, 0
	a.buf, a.tmp, a.res.scratch = a.buf[:0], a.tmp[:0], a.res.scratch[:0]
	if cap(a.buf) > 64<<10 {
		a.buf = nil
	}
	if cap(a.jobs) > 256 || cap(a.ops) > 4096 {
		a.jobs, a.ops, a.queue, a.bases = nil, nil, nil, nil
	}
	a.parent, a.ctx, a.cancel, a.vars, a.fetcher = nil, nil, nil, nil, nil
	a.res.allowed, a.res.page = nil, base{}
	a.done, a.inflight, a.draining, a.started, a.stats = nil, 0, false, 0, Stats{}
}

func (a *assembly) addBase(b base) int32 {
	a.bases = append(a.bases, b)
	return int32(len(a.bases) - 1)
}

// plan walks nodes of a template instance, deciding choose branches and
// turning includes into queued jobs, and returns the range of ops written.
func (a *assembly) plan(nodes []node, depth, base int32) (s, e int32) {
	s = int32(len(a.ops))
	a.planNodes(nodes, depth, base)
	return s, int32(len(a.ops))
}

func (a *assembly) planNodes(nodes []node, depth, base int32) {
	for i := range nodes {
		n := &nodes[i]
		switch n.kind {
		case nLit:
			a.ops = append(a.ops, op{kind: opLit, n: n})
		case nText:
			a.ops = append(a.ops, op{kind: opText, n: n})
		case nInclude:
			j := a.newJob(n.inc, depth+1, base)
			a.ops = append(a.ops, op{kind: opJob, j: j})
		case nChoose:
			for k := range n.whens {
				if w := &n.whens[k]; w.otherwise || w.test.eval(a.vars) {
					a.planNodes(w.kids, depth, base)
					break
				}
			}
		case nTry:
			at := len(a.ops)
			a.ops = append(a.ops, op{kind: opTry, n: n, depth: depth, base: base})
			a.planNodes(n.kids, depth, base)
			a.ops[at].j = int32(len(a.ops))
		}
	}
}

// newJob resolves an include and queues its fetch, or gives it its
// failure outcome at once (limits, refused URLs, deadline).
func (a *assembly) newJob(inc *include, depth, base int32) int32 {
	j := int32(len(a.jobs))
	a.jobs = append(a.jobs, job{depth: depth, cont: inc.cont})
	if a.ctx == nil {
		a.ctx, a.cancel = context.WithDeadline(a.parent, a.deadline)
	}
	switch {
	case a.ctx.Err() != nil:
		a.finish(j, outTimeout)
		return j
	case int(depth) > a.opt.MaxDepth:
		a.fail(j, causeDepth)
		return j
	case a.started >= a.opt.MaxIncludes:
		a.fail(j, causeLimit)
		return j
	}
	a.started++
	b := &a.bases[base]
	src, okSrc := a.resolveParts(inc.src, b)
	var alt []byte
	okAlt := false
	if inc.hasAlt {
		alt, okAlt = a.resolveParts(inc.alt, b)
	}
	if !okSrc && !okAlt {
		a.fail(j, causeRefused)
		return j
	}
	jb := &a.jobs[j]
	jb.src, jb.alt, jb.state = src, alt, jobQueued
	if a.fetcher == nil {
		jb.err = errNoFetcher
		a.finish(j, outFail)
		return j
	}
	a.queue = append(a.queue, j)
	a.queued++
	return j
}

// resolveParts evaluates an src or alt and resolves it into a.buf.
func (a *assembly) resolveParts(parts []part, b *base) ([]byte, bool) {
	a.tmp = appendParts(a.tmp[:0], parts, a.vars, escapeURL)
	start := len(a.buf)
	var ok bool
	a.buf, ok = a.res.resolve(a.buf, a.tmp, b)
	if !ok {
		a.buf = a.buf[:start]
		return nil, false
	}
	end := len(a.buf)
	return a.buf[start:end:end], true
}

// render appends ops [s, e) to dst, waiting for fragments in document
// order. It returns the job whose failure is not handled at this level
// (inside an attempt, or under OnErrorFail), or -1.
func (a *assembly) render(dst []byte, s, e int32, inAttempt bool) ([]byte, int32) {
	for i := s; i < e; i++ {
		o := a.ops[i] // a copy: rendering may grow a.ops
		switch o.kind {
		case opLit:
			dst = append(dst, o.n.lit...)
		case opText:
			dst = appendParts(dst, o.n.parts, a.vars, escapeHTML)
		case opTry:
			mark := len(dst)
			var failed int32
			dst, failed = a.render(dst, i+1, o.j, true)
			if failed >= 0 {
				dst = dst[:mark]
				es, ee := a.plan(o.n.alt, o.depth, o.base)
				if dst, failed = a.render(dst, es, ee, inAttempt); failed >= 0 {
					return dst, failed
				}
			}
			i = o.j - 1
		case opJob:
			var failed int32
			dst, failed = a.renderJob(dst, o.j)
			if failed < 0 {
				continue
			}
			switch {
			case a.jobs[o.j].cont:
				a.stats.Dropped++
			case inAttempt || a.failMode:
				return dst, failed
			default:
				a.stats.Dropped++
			}
		}
	}
	return dst, -1
}

// renderJob appends job j's fragment, or returns the failed job: j itself,
// or, under OnErrorFail, a job inside j's fragment whose failure makes the
// fragment fail.
func (a *assembly) renderJob(dst []byte, j int32) ([]byte, int32) {
	a.await(j)
	jb := &a.jobs[j]
	if jb.out != outOK && jb.out != outAlt {
		return dst, j
	}
	if !jb.hasSub {
		dst = append(dst, jb.frag.Body...)
		jb.frag.release()
		return dst, -1
	}
	mark := len(dst)
	dst, failed := a.render(dst, jb.subS, jb.subE, false)
	a.jobs[j].frag.release()
	if failed >= 0 {
		return dst[:mark], failed
	}
	return dst, -1
}
