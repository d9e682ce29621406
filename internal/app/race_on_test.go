//go:build race

package app

// raceEnabled: the race detector slows every request about tenfold, so the
// large end-to-end loads run smaller under it.
const raceEnabled = true
