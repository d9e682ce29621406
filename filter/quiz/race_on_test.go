//go:build race

package quiz

// raceEnabled reports whether the race detector is on (timing and
// allocation checks are skipped then).
const raceEnabled = true
