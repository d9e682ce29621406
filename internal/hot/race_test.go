//go:build race

package hot

// raceEnabled scales down the heaviest tests under the race detector, which
// makes every atomic operation two orders of magnitude slower.
const raceEnabled = true
