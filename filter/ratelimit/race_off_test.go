//go:build !race

package ratelimit

// raceEnabled makes the slowest tests smaller under the race detector.
const raceEnabled = false
