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
//
// The 32-bit counters are kept in pairs, one 64-bit word each, so that the
// decay, which visits every counter ten times a second, does half the
// loads and atomic subtractions. A counter never carries into its
// neighbour: estimates stay far below 2^32 (a key at a million a second
// settles near 13 million) and the decay subtracts from each half no more
// than that half holds.
type sketch struct {
	c *[sketchRows * sketchWidth / 2]atomic.Uint64
}

func newSketch() sketch {
	return sketch{c: new([sketchRows * sketchWidth / 2]atomic.Uint64)}
}

// add counts one occurrence of the key hashed to h and returns its estimate.
// Rows are indexed by the two halves of h (double hashing).
func (s sketch) add(h uint64) uint32 {
	const mask = sketchWidth - 1
	h1, h2 := uint32(h), uint32(h>>32)|1
	est := s.inc(h1 & mask)
	if v := s.inc(sketchWidth + (h1+h2)&mask); v < est {
		est = v
	}
	return est
}

// inc adds one occurrence to counter i and returns the counter.
func (s sketch) inc(i uint32) uint32 {
	shift := 32 * (i & 1)
	return uint32(s.c[i/2].Add(sketchUnit<<shift) >> shift)
}

// decay takes 1/8 off every counter (called once per bucket). Counters below
// 8 (half an occurrence) stay as they are.
func (s sketch) decay() {
	for i := range s.c {
		c := &s.c[i]
		v := c.Load()
		if v == 0 {
			continue
		}
		lo, hi := uint32(v)>>sketchDecayShift, uint32(v>>32)>>sketchDecayShift
		if sub := uint64(hi)<<32 | uint64(lo); sub != 0 {
			c.Add(-sub) // only decay lowers a counter, so neither half borrows
		}
	}
}

// bytes is the sketch's memory.
func (s sketch) bytes() int { return len(s.c) * 8 }
