package hot

import (
	"sync/atomic"
	"time"
)

const (
	// sketchCounters: a power of two; each key has two (see sketch).
	sketchCounters = 32768
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
// counters per key are enough: each counts about one in 16384 of the other
// keys' occurrences, as in a row 16384 wide, so a key's estimate passes the
// bar by collisions alone only when the whole traffic exceeds about
// 16384 × threshold / 4 distinct occurrences a second (2 million a second
// at 500/s), and even then the candidates' exact counts keep such keys
// from being reported. Two counters cost two atomic adds per Observe.
//
// The sketch is blocked: a key's two counters lie in one 64-byte block of
// 16, picked by one half of its hash, at two different places in it picked
// by the other half. Every request is observed, and under a catalogue's
// traffic the block is out of the CPU's cache: one miss, not one per row.
// The price is in collisions: two keys share both counters about once in
// 250 000 pairs (same block, same two places), against once in 270 million
// with two independent rows, and a key's two counters take their noise
// from the same block's keys. The sketch only decides which keys are
// counted exactly, so a key that slips in by collision costs a candidate
// slot for a moment, never a false report.
//
// The 32-bit counters are kept in pairs, one 64-bit word each, so that the
// decay, which visits every counter ten times a second, does half the
// loads and atomic subtractions. A counter never carries into its
// neighbour: estimates stay far below 2^32 (a key at a million a second
// settles near 13 million) and the decay subtracts from each half no more
// than that half holds.
type sketch struct {
	c *[sketchCounters / 2]atomic.Uint64
}

// sketchBlock is the counters in one 64-byte block.
const sketchBlock = 16

func newSketch() sketch {
	return sketch{c: new([sketchCounters / 2]atomic.Uint64)}
}

// add counts one occurrence of the key hashed to h and returns its estimate.
func (s sketch) add(h uint64) uint32 {
	a, b := sketchSlots(h)
	est := s.inc(a)
	if v := s.inc(b); v < est {
		est = v
	}
	return est
}

// sketchSlots returns the two counters of the key hashed to h: a block
// from the low half of h, two distinct places in it from the high half.
func sketchSlots(h uint64) (a, b uint32) {
	const blocks = sketchCounters / sketchBlock
	base := (uint32(h) & (blocks - 1)) * sketchBlock
	hi := uint32(h >> 32)
	i := hi % sketchBlock
	j := (i + 1 + (hi/sketchBlock)%(sketchBlock-1)) % sketchBlock
	return base + i, base + j
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
