package hot

import (
	"sync/atomic"
	"time"
)

const (
	sketchRows  = 2
	sketchWidth = 16384 // power of two
	// sketchUnit is what one occurrence adds; scaled so that the 1/8 decay
	// keeps precision for small counts.
	sketchUnit = 16
	// sketchDecayShift: every bucket each counter loses counter>>shift (1/8).
	sketchDecayShift = 3
	// sketchSteady converts a rate (per second) to the estimate a key at that
	// steady rate settles at: unit × occurrences per bucket × 2^shift.
	sketchSteady = sketchUnit * (float64(bucketDuration) / float64(time.Second)) * (1 << sketchDecayShift)
)

// sketch is a count-min sketch with exponentially decaying counters: it
// estimates, never below the truth, how often a key was seen lately (a
// horizon of about 0.75 s). Its size is fixed: 2 × 16384 counters, 128 KiB.
//
// It only gates admission to the exact counting of the candidates, so two
// wide rows are enough: a key's estimate passes the bar by collisions alone
// only when the whole traffic exceeds about width × threshold / 4 distinct
// occurrences a second (2 million a second at 500/s), and even then the
// candidates' exact counts keep such keys from being reported. Two rows cost
// two atomic adds per Observe.
type sketch struct {
	c *[sketchRows * sketchWidth]atomic.Uint32
}

func newSketch() sketch {
	return sketch{c: new([sketchRows * sketchWidth]atomic.Uint32)}
}

// add counts one occurrence of the key hashed to h and returns its estimate.
// Rows are indexed by the two halves of h (double hashing).
func (s sketch) add(h uint64) uint32 {
	const mask = sketchWidth - 1
	h1, h2 := uint32(h), uint32(h>>32)|1
	c := s.c
	est := c[h1&mask].Add(sketchUnit)
	if v := c[sketchWidth+(h1+h2)&mask].Add(sketchUnit); v < est {
		est = v
	}
	return est
}

// decay takes 1/8 off every counter (called once per bucket). Counters below
// 8 (half an occurrence) stay as they are.
func (s sketch) decay() {
	for i := range s.c {
		c := &s.c[i]
		if v := c.Load(); v >= 1<<sketchDecayShift {
			c.Add(^(v>>sketchDecayShift - 1)) // subtract; only decay lowers a counter
		}
	}
}

// bytes is the sketch's memory.
func (s sketch) bytes() int { return len(s.c) * 4 }
