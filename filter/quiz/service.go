package quiz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"edge/internal/config"
	"edge/internal/redisx"

	"github.com/redis/go-redis/v9"
)

// Background timing of a Service.
const (
	// tickEvery is how often Start's loop looks at the shared bank in Redis
	// and whether a scheduled regeneration is due.
	tickEvery = 2 * time.Second
	// retryGenerate is the pause after a failed first generation.
	retryGenerate = 5 * time.Second
	// errorLogEvery bounds how often Redis failures are logged.
	errorLogEvery = 10 * time.Second
	// minSecretLen is the shortest secret accepted (as config validates).
	minSecretLen = 32
)

// Sources of a bank, the values of edge_quiz_bank_updates_total{source}.
const (
	sourceGenerated = "generated"
	sourceImported  = "imported"
	sourceShared    = "shared"
)

// Service is the process-lifetime side of the quiz: the bank in use (and
// the one before it, so tokens and images issued just before a change stay
// good), the token signer, and the store of used tokens and failed attempts
// (memory, or Redis when a client is given). Routes' Stages check answers
// against it; the public endpoints (IssueHandler, ImageHandler) and the
// admin endpoints (AdminBank) serve from it. It is safe for concurrent use.
type Service struct {
	rdb     redis.UniversalClient
	prefix  string
	timeout time.Duration
	m       *Metrics
	log     *slog.Logger
	now     func() time.Time
	seed    func() [32]byte // RandomSeed; fixed by tests
	store   answerStore

	signer atomic.Pointer[signer]
	banks  atomic.Pointer[bankSet]
	size   atomic.Int64
	regen  atomic.Int64 // ns; 0 = never

	installMu sync.Mutex // serialises bank changes
	kick      chan struct{}
	ready     chan struct{}
	readyOnce sync.Once
	started   atomic.Bool

	routesMu sync.Mutex
	routes   map[string]*Stage
	expiry   atomic.Int64 // ns: the max_age announced by the issue endpoint

	nextLog    atomic.Int64 // unix ns before which failures are not logged
	suppressed atomic.Int64
}

// bankSet is the bank in use and the one it replaced.
type bankSet struct{ cur, prev *Bank }

// NewService builds the quiz service from the quiz_bank config. rdb nil
// keeps used tokens and failed attempts in this node's memory (bounded by
// DefaultMemoryEntries) and the bank to this node; with rdb, both are
// shared by every node using the same Redis and prefix (keys
// <prefix>{quiz:...}). timeout bounds each Redis call on the request path
// (0: the default Redis timeout, 200ms); bank transfers get 30s. m nil means
// unregistered metrics, log nil slog.Default, now nil time.Now.
//
// The service has no bank until Start has made or loaded one (or one is
// PUT through the admin API); until then the issue endpoint answers 503
// quiz_unavailable and every check refuses with quiz_invalid.
func NewService(cfg *config.QuizBank, rdb redis.UniversalClient, prefix string, timeout time.Duration, m *Metrics, log *slog.Logger, now func() time.Time) (*Service, error) {
	if m == nil {
		m = NewMetrics(nil)
	}
	if log == nil {
		log = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	if timeout <= 0 {
		timeout = redisx.DefaultTimeout
	}
	s := &Service{
		rdb: rdb, prefix: prefix, timeout: timeout, m: m, log: log, now: now,
		seed:   RandomSeed,
		kick:   make(chan struct{}, 1),
		ready:  make(chan struct{}),
		routes: make(map[string]*Stage),
	}
	s.expiry.Store(int64(config.DefaultQuizMaxAge))
	if rdb != nil {
		s.store = &redisStore{rdb: rdb, prefix: prefix, timeout: timeout}
	} else {
		s.store = newMemStore(DefaultMemoryEntries, now)
	}
	if err := s.Reconfigure(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// Reconfigure applies a reloaded quiz_bank config. New secrets take effect
// at once (keep the old one as previous_secret for a rotation: tokens it
// signed stay good until they expire). The bank in use is kept, so tokens
// and cached images stay valid; a new size makes the running Service
// generate a new bank of that size in the background (which, with Redis,
// replaces the fleet's bank), and a new regenerate interval applies from
// the next check.
func (s *Service) Reconfigure(cfg *config.QuizBank) error {
	if cfg == nil {
		return errors.New("quiz: no quiz_bank config")
	}
	if len(cfg.Secret) < minSecretLen {
		return fmt.Errorf("quiz: secret: want at least %d bytes, got %d", minSecretLen, len(cfg.Secret))
	}
	if cfg.PreviousSecret != "" && len(cfg.PreviousSecret) < minSecretLen {
		return fmt.Errorf("quiz: previous secret: want at least %d bytes, got %d", minSecretLen, len(cfg.PreviousSecret))
	}
	size := cfg.Size
	if size == 0 {
		size = config.DefaultQuizBankSize
	}
	if size < 1 || size > MaxBankSize {
		return fmt.Errorf("quiz: size: want 1 to %d questions, got %d", MaxBankSize, size)
	}
	if cfg.Regenerate.D() < 0 {
		return fmt.Errorf("quiz: regenerate: negative interval %s", cfg.Regenerate.D())
	}
	sg, err := newSigner(cfg.Secret, cfg.PreviousSecret)
	if err != nil {
		return err
	}
	s.signer.Store(sg)
	s.regen.Store(int64(cfg.Regenerate.D()))
	if old := s.size.Swap(int64(size)); old != 0 && old != int64(size) && s.current() != nil {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// Ready returns a channel closed once the first bank is in use.
func (s *Service) Ready() <-chan struct{} { return s.ready }

// Bank returns the bank in use, nil before the first one.
func (s *Service) Bank() *Bank { return s.current() }

func (s *Service) current() *Bank {
	if set := s.banks.Load(); set != nil {
		return set.cur
	}
	return nil
}

// lookup finds a question in the bank in use or the one before it.
func (s *Service) lookup(id uint64) *Question {
	set := s.banks.Load()
	if set == nil {
		return nil
	}
	if q := set.cur.Lookup(id); q != nil {
		return q
	}
	return set.prev.Lookup(id)
}

// install puts b in use if the bank in use is still expect (any bank when
// force); it reports whether b is in use.
func (s *Service) install(b *Bank, expect *Bank, force bool, source string) bool {
	s.installMu.Lock()
	defer s.installMu.Unlock()
	cur := s.current()
	if cur != nil && cur.id == b.id {
		return true
	}
	if !force && cur != expect {
		return false
	}
	s.banks.Store(&bankSet{cur: b, prev: cur})
	s.m.size.Store(int64(b.Len()))
	s.m.updates.WithLabelValues(source).Inc()
	s.readyOnce.Do(func() { close(s.ready) })
	s.log.Info("quiz: bank in use", "bank", b.ID(), "questions", b.Len(), "source", source)
	return true
}

// Start runs the background work until ctx ends: it makes the first bank
// (loading the fleet's bank from Redis when there is one, else generating
// one and offering it to the fleet), then every 2 seconds picks up a bank
// another node or an operator put in Redis, and regenerates the bank when
// quiz_bank.regenerate has passed since it was made (with Redis, one node
// does it for the fleet). Start returns at once; calling it again does
// nothing.
func (s *Service) Start(ctx context.Context) {
	if !s.started.CompareAndSwap(false, true) {
		return
	}
	go s.run(ctx)
}

func (s *Service) run(ctx context.Context) {
	s.bootstrap(ctx)
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.tick(ctx, false)
		case <-s.kick:
			s.tick(ctx, true)
		}
	}
}

// bootstrap gets the first bank: the fleet's, or a new one.
func (s *Service) bootstrap(ctx context.Context) {
	for ctx.Err() == nil && s.current() == nil {
		if s.rdb != nil {
			if err := s.syncShared(ctx); err != nil {
				s.logFailure("quiz: cannot read the shared bank; generating one", err)
			}
			if s.current() != nil {
				return
			}
		}
		b, err := s.generate(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("quiz: generate bank", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(retryGenerate):
			}
			continue
		}
		if !s.install(b, nil, false, sourceGenerated) {
			return // an operator or the fleet was faster
		}
		s.offer(ctx, b, publishIfAbsent, "")
	}
}

// tick syncs with the fleet and regenerates when due (or forced).
func (s *Service) tick(ctx context.Context, force bool) {
	if s.rdb != nil {
		if err := s.syncShared(ctx); err != nil {
			s.logFailure("quiz: shared bank sync failed", err)
		}
	}
	cur := s.current()
	if cur == nil {
		s.bootstrap(ctx)
		return
	}
	regen := time.Duration(s.regen.Load())
	if !force && (regen <= 0 || s.now().Sub(cur.Created()) < regen) {
		return
	}
	b, err := s.generate(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("quiz: regenerate bank", "err", err)
		}
		return
	}
	if s.install(b, cur, false, sourceGenerated) {
		s.offer(ctx, b, publishReplace, cur.ID())
	}
}

// offer publishes b to the fleet; when another bank won, it loads that one.
func (s *Service) offer(ctx context.Context, b *Bank, mode, expect string) {
	if s.rdb == nil {
		return
	}
	stored, err := publishBank(ctx, s.rdb, s.prefix, b, mode, expect)
	switch {
	case err != nil:
		s.logFailure("quiz: cannot share the bank", err)
	case !stored:
		if err := s.syncShared(ctx); err != nil {
			s.logFailure("quiz: shared bank sync failed", err)
		}
	}
}

// syncShared puts the fleet's bank in use when it differs from this node's,
// and gives the fleet this node's bank when Redis has none (after a Redis
// restart).
func (s *Service) syncShared(ctx context.Context) error {
	id, err := sharedBankID(ctx, s.rdb, s.prefix, s.timeout)
	if err != nil {
		return err
	}
	cur := s.current()
	switch {
	case id == "" && cur != nil:
		_, err := publishBank(ctx, s.rdb, s.prefix, cur, publishIfAbsent, "")
		return err
	case id == "" || (cur != nil && id == cur.ID()):
		return nil
	}
	b, err := loadSharedBank(ctx, s.rdb, s.prefix)
	if err != nil || b == nil {
		return err
	}
	s.install(b, cur, false, sourceShared)
	return nil
}

// generate makes a bank of the configured size from a fresh seed.
func (s *Service) generate(ctx context.Context) (*Bank, error) {
	start := time.Now()
	b, err := Generate(ctx, int(s.size.Load()), s.seed(), s.now())
	if err != nil {
		return nil, err
	}
	s.log.Info("quiz: bank generated", "bank", b.ID(), "questions", b.Len(), "took", time.Since(start).Round(time.Millisecond))
	return b, nil
}

// register records a route's max_age for the expiry the issue endpoint
// announces (the shortest of all quiz routes).
func (s *Service) register(st *Stage, remove bool) {
	s.routesMu.Lock()
	defer s.routesMu.Unlock()
	if remove {
		if s.routes[st.route] != st {
			return
		}
		delete(s.routes, st.route)
	} else {
		s.routes[st.route] = st
	}
	d := time.Duration(0)
	for _, r := range s.routes {
		if d == 0 || r.p.maxAge < d {
			d = r.p.maxAge
		}
	}
	if d == 0 {
		d = config.DefaultQuizMaxAge
	}
	s.expiry.Store(int64(d))
}

// logFailure logs a Redis failure at most once per errorLogEvery.
func (s *Service) logFailure(msg string, err error) {
	now := time.Now().UnixNano()
	next := s.nextLog.Load()
	if now < next || !s.nextLog.CompareAndSwap(next, now+int64(errorLogEvery)) {
		s.suppressed.Add(1)
		return
	}
	s.log.Warn(msg, "err", err, "suppressed", s.suppressed.Swap(0))
}
