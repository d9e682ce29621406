package config

import (
	"strconv"
	"time"
)

// Defaults of the quiz and hot-key settings.
const (
	DefaultQuizBankSize  = 1000
	DefaultQuizMinThink  = time.Second
	DefaultQuizMaxAge    = 2 * time.Minute
	DefaultQuizAttempts  = 3
	DefaultHotThreshold  = 500 // per second
	DefaultHotTop        = 50
	minQuizSecretLength  = 32
	maxQuizBankSize      = 100000
	maxHotTop            = 1000
	defaultMicroCacheMax = time.Minute
)

// quizHotDefaults fills the quiz bank, route quiz and hot-key defaults.
func quizHotDefaults(c *Config) {
	if q := c.QuizBank; q != nil {
		setInt(&q.Size, DefaultQuizBankSize)
	}
	if c.Hot == nil {
		c.Hot = &Hot{}
	}
	if c.Hot.Threshold.IsZero() {
		c.Hot.Threshold = Rate{N: DefaultHotThreshold, Per: time.Second}
	}
	setInt(&c.Hot.Top, DefaultHotTop)
	for _, r := range c.Routes {
		if r == nil || r.Quiz == nil {
			continue
		}
		setDuration(&r.Quiz.MinThink, DefaultQuizMinThink)
		setDuration(&r.Quiz.MaxAge, DefaultQuizMaxAge)
		setInt(&r.Quiz.Attempts, DefaultQuizAttempts)
	}
}

// quizHot validates the quiz bank, route quizzes and hot-key settings.
func (v *validator) quizHot(c *Config) {
	if q := c.QuizBank; q != nil {
		if len(q.Secret) < minQuizSecretLength {
			v.add("quiz_bank.secret", "want at least %d bytes (HMAC-SHA256 key), got %d", minQuizSecretLength, len(q.Secret))
		}
		if q.PreviousSecret != "" && len(q.PreviousSecret) < minQuizSecretLength {
			v.add("quiz_bank.previous_secret", "want at least %d bytes, got %d", minQuizSecretLength, len(q.PreviousSecret))
		}
		if q.Size < 1 || q.Size > maxQuizBankSize {
			v.add("quiz_bank.size", "want 1 to %d questions, got %d", maxQuizBankSize, q.Size)
		}
		if q.Regenerate.D() < 0 || (q.Regenerate.D() > 0 && q.Regenerate.D() < time.Minute) {
			v.add("quiz_bank.regenerate", "want 0 (never) or at least 1m, got %s", q.Regenerate)
		}
	}
	if h := c.Hot; h != nil {
		if h.Threshold.PerSecond() <= 0 {
			v.add("hot.threshold", "want a rate above zero such as 500/s")
		}
		if h.Top < 1 || h.Top > maxHotTop {
			v.add("hot.top", "want 1 to %d, got %d", maxHotTop, h.Top)
		}
	}
	for i, r := range c.Routes {
		if r == nil {
			continue
		}
		p := "routes[" + strconv.Itoa(i) + "]"
		if q := r.Quiz; q != nil {
			switch {
			case c.QuizBank == nil:
				v.add(p+".quiz", "needs a top-level quiz_bank")
			case r.Item == nil:
				v.add(p+".quiz", "needs the route's item (answers are bound to an item)")
			case r.Identity != "required":
				v.add(p+".quiz", "needs identity: required (answers are bound to a shopper)")
			}
			if q.MinThink.D() >= q.MaxAge.D() {
				v.add(p+".quiz.min_think", "want less than max_age (%s), got %s", q.MaxAge, q.MinThink)
			}
			v.positive(p+".quiz.attempts", q.Attempts)
		}
		if h := r.HotKeys; h != nil {
			if h.MicroCache.D() < 0 || h.MicroCache.D() > defaultMicroCacheMax {
				v.add(p+".hot.micro_cache", "want 0 to %s, got %s", defaultMicroCacheMax, h.MicroCache)
			}
			if h.MaxConnShare < 0 || h.MaxConnShare > 1 {
				v.add(p+".hot.max_conn_share", "want a share between 0 and 1, got %g", h.MaxConnShare)
			}
		}
	}
}
